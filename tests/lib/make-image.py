#!/usr/bin/env python3
# Writes an image archive from layer tarballs, the way other tools do, so
# the tests have fixtures that berth did not make itself:
#   make-image.py --format oci|docker [--ref NAME[:TAG]] [--label K=V]...
#                 [--cmd ARG]... [--volume PATH]... --layer FILE [--layer FILE]... OUT
# OCI archives keep each layer blob as given (gzip, zstd or plain) and name
# the image with io.containerd.image.name and org.opencontainers.image.ref.name;
# docker archives (docker save's classic layout) carry uncompressed layer.tar
# files, as docker load expects.
import argparse, gzip, hashlib, io, json, os, platform, tarfile, time

ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
        "s390x": "s390x", "riscv64": "riscv64"}.get(platform.machine(), platform.machine())


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def uncompressed(data):
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        import subprocess
        return subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    return data


def media_type(data):
    if data[:2] == b"\x1f\x8b":
        return "application/vnd.oci.image.layer.v1.tar+gzip"
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return "application/vnd.oci.image.layer.v1.tar+zstd"
    return "application/vnd.oci.image.layer.v1.tar"


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--format", choices=["oci", "docker"], required=True)
    p.add_argument("--ref")
    p.add_argument("--label", action="append", default=[])
    p.add_argument("--cmd", action="append")
    p.add_argument("--volume", action="append", default=[])
    p.add_argument("--layer", action="append", required=True)
    p.add_argument("out")
    a = p.parse_args()

    blobs = [open(f, "rb").read() for f in a.layer]
    plain = [uncompressed(b) for b in blobs]
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    config = {
        "created": created, "architecture": ARCH, "os": "linux",
        "config": {"Cmd": a.cmd or ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Labels": dict(l.split("=", 1) for l in a.label)},
        "rootfs": {"type": "layers", "diff_ids": [sha(d) for d in plain]},
        "history": [{"created": created, "created_by": "make-image.py layer %d (%s)" %
                     (i, os.path.basename(f))} for i, f in enumerate(a.layer)],
    }
    if a.volume:
        config["config"]["Volumes"] = {v: {} for v in a.volume}
    config_bytes = json.dumps(config, separators=(",", ":")).encode()

    with tarfile.open(a.out, "w", format=tarfile.PAX_FORMAT) as tar:
        if a.format == "oci":
            manifest = {
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": sha(config_bytes), "size": len(config_bytes)},
                "layers": [{"mediaType": media_type(b), "digest": sha(b), "size": len(b)}
                           for b in blobs],
            }
            mbytes = json.dumps(manifest, separators=(",", ":")).encode()
            desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": sha(mbytes), "size": len(mbytes)}
            if a.ref:
                tag = a.ref.rsplit(":", 1)[1] if ":" in a.ref.rsplit("/", 1)[-1] else "latest"
                desc["annotations"] = {"io.containerd.image.name": a.ref,
                                       "org.opencontainers.image.ref.name": tag}
            index = {"schemaVersion": 2, "manifests": [desc]}
            add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            add(tar, "index.json", json.dumps(index).encode())
            for b in [mbytes, config_bytes] + blobs:
                add(tar, "blobs/sha256/" + hashlib.sha256(b).hexdigest(), b)
        else:
            chex = hashlib.sha256(config_bytes).hexdigest()
            layers = []
            for d in plain:
                name = hashlib.sha256(d).hexdigest() + "/layer.tar"
                layers.append(name)
                add(tar, name, d)
            add(tar, chex + ".json", config_bytes)
            entry = {"Config": chex + ".json", "RepoTags": [a.ref] if a.ref else None,
                     "Layers": layers}
            add(tar, "manifest.json", json.dumps([entry]).encode())


if __name__ == "__main__":
    main()
