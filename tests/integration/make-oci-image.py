#!/usr/bin/env python3
"""Writes an OCI image layout for the registry tests.

  make-oci-image.py DIR [--tag TAG] [--busybox] [--random-layer BYTES]...
                        [--description TEXT] [--seed N]

--busybox adds a layer with Debian's static busybox as /bin/busybox and
/bin/sh; each --random-layer adds a layer holding one file of that many
pseudo-random bytes (from --seed, so runs are reproducible). The image
config carries the description as the org.opencontainers.image.description
label."""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import tarfile


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def tar_layer(entries):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = payload
                tar.addfile(info)
            else:
                info.size = len(payload)
                info.mode = 0o755
                tar.addfile(info, io.BytesIO(payload))
    plain = raw.getvalue()
    return plain, gzip.compress(plain, compresslevel=1, mtime=0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--tag", default="latest")
    p.add_argument("--busybox", action="store_true")
    p.add_argument("--random-layer", type=int, action="append", default=[])
    p.add_argument("--description")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    os.makedirs(os.path.join(a.dir, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(a.dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

    layers = []
    if a.busybox:
        with open("/bin/busybox", "rb") as f:
            busybox = f.read()
        layers.append(tar_layer([("bin", "dir", None), ("bin/busybox", "file", busybox),
                                 ("bin/sh", "symlink", "busybox")]))
    rng = random.Random(a.seed)
    for i, size in enumerate(a.random_layer):
        layers.append(tar_layer([("data", "dir", None),
                                 ("data/layer%d" % i, "file", rng.randbytes(size))]))

    descriptors, diff_ids = [], []
    for plain, gz in layers:
        digest, size = blob(a.dir, gz)
        descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": digest, "size": size})
        diff_ids.append("sha256:" + hashlib.sha256(plain).hexdigest())

    labels = {}
    if a.description:
        labels["org.opencontainers.image.description"] = a.description
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Cmd": ["/bin/sh"], "Labels": labels},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cdigest, csize = blob(a.dir, json.dumps(config, sort_keys=True).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": cdigest, "size": csize},
                "layers": descriptors}
    mdigest, msize = blob(a.dir, json.dumps(manifest, sort_keys=True).encode())
    index_path = os.path.join(a.dir, "index.json")
    index = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != a.tag]
    index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "digest": mdigest, "size": msize,
                               "annotations": {"org.opencontainers.image.ref.name": a.tag}})
    with open(index_path, "w") as f:
        json.dump(index, f)
    print(mdigest)


if __name__ == "__main__":
    main()
