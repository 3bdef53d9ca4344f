"""Ships documents to Basin with the official Elasticsearch Python client.

Usage: es_bulk.py BASE_URL RUN_ID
Connects to BASE_URL/elasticsearch (the client checks the product header on
the handshake), sends documents with helpers.bulk and prints
"<successes> <errors>".
"""
import sys

from elasticsearch import Elasticsearch, helpers

base, run_id = sys.argv[1], sys.argv[2]
es = Elasticsearch(f"{base}/elasticsearch", request_timeout=30)
info = es.info()
assert info["version"]["number"], info

docs = [
    {
        "_index": "app-logs",
        "_source": {
            "@timestamp": f"2024-05-01T12:00:0{i}.000Z",
            "message": f"user {i} logged in run={run_id}",
            "log": {"level": "info" if i < 4 else "error"},
            "http": {"request": {"method": "POST"}, "status": 200 + i},
            "service": "auth",
        },
    }
    for i in range(5)
]
ok, errors = helpers.bulk(es, docs, stats_only=True)
print(ok, errors)
