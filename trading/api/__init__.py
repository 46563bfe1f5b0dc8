"""The native REST API (/api/v1/) for bots and scripts, with Django REST framework.

authentication.py  who is asking (session or a signed API key), read-only keys, the rate limit
errors.py          every refusal as {"code", "message", "field", "reason"} with its 4xx status
pagination.py      pages of results
serializers.py     models as JSON (decimals as strings) and request bodies
views.py           thin: parse, call one service or selector, serialize
urls.py            the routes
"""
