#!/usr/bin/env python3
"""A mock of NCMEC's hash-sharing API v2 on loopback for benches/fetch.sh: RECORDS image
entries (one MD5 fingerprint each, ids image-N) in `queryResult` pages of PAGE entries,
linked by `<paging><next>` paths, behind HTTP basic authentication (user:bench). Pages are
made before the server starts, so the fetcher, not the mock, is what is measured.

    python3 benches/fetch_mock.py PORT RECORDS PAGE [SAVE_DIR]

With SAVE_DIR, the pages are also written there (page-00001.xml, ...) for `mediamatch
import` of the same bytes.
"""
import base64
import hashlib
import http.server
import os
import sys

port, records, page = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
save = sys.argv[4] if len(sys.argv) > 4 else None
AUTH = "Basic " + base64.b64encode(b"user:bench").decode()
NS = "https://hashsharing.ncmec.org/hashsharing/v2"

pages = []
for start in range(0, records, page):
    n = min(page, records - start)
    parts = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
             f'<queryResult xmlns="{NS}">\n<images count="{n}" maxTimestamp="2024-01-01T00:00:00Z">\n']
    for i in range(start, start + n):
        md5 = hashlib.md5(f"bench-{i}".encode()).hexdigest()
        parts.append(f'<image><member id="1">Bench</member><timestamp>2024-01-01T00:00:00Z</timestamp>'
                     f'<id>image-{i}</id><classification>A1</classification>'
                     f'<fingerprints><md5>{md5}</md5></fingerprints></image>\n')
    parts.append('</images>\n')
    if start + n < records:
        parts.append(f'<paging><next>/v2/entries?start={start + n + 1}&amp;size={page}</next></paging>\n')
    parts.append('</queryResult>\n')
    pages.append("".join(parts).encode())
if save:
    os.makedirs(save, exist_ok=True)
    for k, body in enumerate(pages):
        with open(os.path.join(save, f"page-{k + 1:05d}.xml"), "wb") as f:
            f.write(body)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.headers.get("Authorization") != AUTH:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        k = 0
        if "start=" in self.path:
            k = (int(self.path.split("start=")[1].split("&")[0]) - 1) // page
        body = pages[k] if k < len(pages) else pages[-1]
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


print(f"ready {len(pages)} pages", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
