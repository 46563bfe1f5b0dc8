"""The live trade page: its WebSocket (consumers.py), routed by marginsite/asgi.py."""
