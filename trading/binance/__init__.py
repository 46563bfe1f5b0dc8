"""A Binance USD-M compatible facade (/fapi/...), so that an unmodified ccxt ``binanceusdm``
client (and any bot built on it) trades against marginsite by changing its base URL."""
