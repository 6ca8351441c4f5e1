#!/usr/bin/env python3
"""Writes an OCI layout whose "latest" is an image index of two images:
OTHER's image for linux/arm64 (or linux/amd64 on an arm64 host) and HOST's
image for the host's platform, plus an attestation-like unknown/unknown
entry. Prints the index digest.

  pull-index.py OUT OTHER_LAYOUT HOST_LAYOUT"""
import hashlib
import json
import os
import platform
import shutil
import sys

out, other, host = sys.argv[1:4]
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
other_arch = "amd64" if arch == "arm64" else "arm64"
os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
entries = []
for layout, plat in ((other, {"os": "linux", "architecture": other_arch}),
                     (host, {"os": "linux", "architecture": arch}),
                     (other, {"os": "unknown", "architecture": "unknown"})):
    for name in os.listdir(os.path.join(layout, "blobs", "sha256")):
        shutil.copy(os.path.join(layout, "blobs", "sha256", name), os.path.join(out, "blobs", "sha256", name))
    with open(os.path.join(layout, "index.json")) as f:
        desc = dict(json.load(f)["manifests"][0])
    desc.pop("annotations", None)
    desc["platform"] = plat
    entries.append(desc)
index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": entries}).encode()
digest = hashlib.sha256(index).hexdigest()
with open(os.path.join(out, "blobs", "sha256", digest), "wb") as f:
    f.write(index)
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + digest,
        "size": len(index), "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
with open(os.path.join(out, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion": "1.0.0"}')
print("sha256:" + digest)
