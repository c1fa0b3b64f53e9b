#!/usr/bin/env python3
"""Writes and checks the OCI image archive of Interlock (docs/kubernetes.md#the-image).

  oci.py build --root DIR --out FILE.tar --ref NAME:TAG --version V [--created ISO8601]
  oci.py check FILE.tar [--unpack DIR]

`build` packs DIR (an unpacked root, owners kept as numbers) into one gzip layer and writes
an OCI image layout (oci-layout, index.json, blobs/sha256/...) as a tar archive, with a
Docker-style manifest.json beside index.json, as `docker save` does since Docker 25: so
`podman load`, `docker load`, `skopeo copy oci-archive:FILE.tar ...` and
`ctr image import` accept it. The layer is reproducible for a given root: entries sorted,
times clamped to SOURCE_DATE_EPOCH when set, no user or group names, gzip without a time.

`check` opens such an archive and verifies every digest and size the index, the manifest
and the config name (the layer's diff_id against its uncompressed bytes too), the media
types, and the runtime config's user, entrypoint and volume; with --unpack it extracts the
layer into DIR (as root, owners kept). Exits 1 saying what is wrong. Python's standard
library only.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
import time

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

# The runtime contract of the image (docs/kubernetes.md): a fixed non-root uid and gid,
# the state on a volume, the daemon as entrypoint. build-image.sh creates the user with
# these numbers; the Kubernetes manifests name them in securityContext.
USER = "10001:10001"
STATE = "/var/lib/interlock"
ENTRYPOINT = ["/usr/bin/interlock"]
CMD = ["serve", "--config", "/etc/interlock/config.yaml"]
PORTS = ["8181/tcp", "9191/tcp"]

# Left out of the layer: what a runtime mounts over at start (their directories stay).
SKIP_CONTENTS = ("dev", "proc", "sys", "run", "tmp")


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(root, clamp):
    """The root as an uncompressed tar: sorted, numeric owners, hard links kept (tarfile
    records a second name of an inode as a link to the first)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = os.path.relpath(dirpath, root)
            dirnames.sort()
            names = sorted(dirnames + filenames)
            if rel_dir.split(os.sep)[0] in SKIP_CONTENTS:
                dirnames[:] = []
                continue
            for name in names:
                path = os.path.join(dirpath, name)
                arc = os.path.normpath(os.path.join(rel_dir, name))
                st = os.lstat(path)
                info = tar.gettarinfo(path, arcname=arc)
                info.uname = info.gname = ""
                if clamp is not None and info.mtime > clamp:
                    info.mtime = clamp
                if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISFIFO(
                        st.st_mode) or stat.S_ISSOCK(st.st_mode):
                    continue
                if info.isreg():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def build(args):
    clamp = int(os.environ["SOURCE_DATE_EPOCH"]) if "SOURCE_DATE_EPOCH" in os.environ else None
    raw = layer_tar(args.root, clamp)
    zbuf = io.BytesIO()
    with gzip.GzipFile(fileobj=zbuf, mode="wb", mtime=0, compresslevel=6) as z:
        z.write(raw)
    layer = zbuf.getvalue()
    created = args.created or time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(clamp if clamp is not None else time.time()))
    name, tag = args.ref.rsplit(":", 1)
    config = {
        "created": created,
        "architecture": args.arch,
        "os": "linux",
        "config": {
            "User": USER,
            "Entrypoint": ENTRYPOINT,
            "Cmd": CMD,
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOME=" + STATE],
            "WorkingDir": STATE,
            "Volumes": {STATE: {}},
            "ExposedPorts": {p: {} for p in PORTS},
            "StopSignal": "SIGTERM",
            "Labels": {
                "org.opencontainers.image.title": "interlock",
                "org.opencontainers.image.description":
                    "Policy enforcement point for AI-agent tool calls",
                "org.opencontainers.image.version": args.version,
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [sha256(raw)]},
        "history": [{"created": created,
                     "created_by": "packaging/image/build-image.sh: mmdebstrap bookworm "
                                   "+ interlock_" + args.version + ".deb"}],
    }
    config_bytes = json.dumps(config, indent=2, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": sha256(config_bytes),
                   "size": len(config_bytes)},
        "layers": [{"mediaType": MEDIA_LAYER, "digest": sha256(layer), "size": len(layer)}],
        "annotations": {"org.opencontainers.image.version": args.version},
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
    full_ref = name if "/" in name else "docker.io/library/" + name
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [{
            "mediaType": MEDIA_MANIFEST, "digest": sha256(manifest_bytes),
            "size": len(manifest_bytes),
            "platform": {"architecture": args.arch, "os": "linux"},
            "annotations": {"org.opencontainers.image.ref.name": tag,
                            "io.containerd.image.name": full_ref + ":" + tag},
        }],
    }
    index_bytes = json.dumps(index, indent=2, sort_keys=True).encode()
    docker_manifest = json.dumps([{
        "Config": "blobs/sha256/" + sha256(config_bytes)[7:],
        "RepoTags": [args.ref],
        "Layers": ["blobs/sha256/" + sha256(layer)[7:]],
    }]).encode()
    files = [
        ("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()),
        ("index.json", index_bytes),
        ("manifest.json", docker_manifest),
        ("blobs/sha256/" + sha256(config_bytes)[7:], config_bytes),
        ("blobs/sha256/" + sha256(manifest_bytes)[7:], manifest_bytes),
        ("blobs/sha256/" + sha256(layer)[7:], layer),
    ]
    tmp = args.out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as out:
        for d in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, clamp or 0
            out.addfile(info)
        for path, data in files:
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, clamp or 0
            out.addfile(info, io.BytesIO(data))
    os.replace(tmp, args.out)
    print(f"{args.out}: {args.ref}, manifest {sha256(manifest_bytes)}, layer "
          f"{len(layer) / 1e6:.1f} MB ({len(raw) / 1e6:.1f} MB unpacked)")


class Bad(Exception):
    pass


def blob(tar, descriptor, media):
    if descriptor.get("mediaType") != media:
        raise Bad(f"descriptor {descriptor.get('digest')} has media type "
                  f"{descriptor.get('mediaType')}, expected {media}")
    digest = descriptor["digest"]
    if not digest.startswith("sha256:"):
        raise Bad(f"digest {digest} is not sha256")
    try:
        data = tar.extractfile("blobs/sha256/" + digest[7:]).read()
    except KeyError:
        raise Bad(f"blob {digest} is missing") from None
    if sha256(data) != digest:
        raise Bad(f"blob {digest} holds bytes whose digest is {sha256(data)}")
    if len(data) != descriptor["size"]:
        raise Bad(f"blob {digest} is {len(data)} bytes, its descriptor says {descriptor['size']}")
    return data


def check(args):
    with tarfile.open(args.archive) as tar:
        layout = json.loads(tar.extractfile("oci-layout").read())
        if layout.get("imageLayoutVersion") != "1.0.0":
            raise Bad(f"oci-layout says {layout}")
        index = json.loads(tar.extractfile("index.json").read())
        if index.get("schemaVersion") != 2 or len(index.get("manifests", [])) != 1:
            raise Bad("index.json is not one image of schema version 2")
        manifest = json.loads(blob(tar, index["manifests"][0], MEDIA_MANIFEST))
        config = json.loads(blob(tar, manifest["config"], MEDIA_CONFIG))
        if len(manifest["layers"]) != len(config["rootfs"]["diff_ids"]):
            raise Bad("the manifest's layers and the config's diff_ids differ in number")
        layers = []
        for desc, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"]):
            data = gzip.decompress(blob(tar, desc, MEDIA_LAYER))
            if sha256(data) != diff_id:
                raise Bad(f"layer {desc['digest']} uncompresses to {sha256(data)}, "
                          f"the config's diff_id is {diff_id}")
            layers.append(data)
        docker = json.loads(tar.extractfile("manifest.json").read())
        if docker[0]["Config"] != "blobs/sha256/" + manifest["config"]["digest"][7:]:
            raise Bad("manifest.json names another config than the OCI manifest")
        run = config["config"]
        for key, want in (("User", USER), ("Entrypoint", ENTRYPOINT), ("Cmd", CMD)):
            if run.get(key) != want:
                raise Bad(f"config {key} is {run.get(key)}, expected {want}")
        if STATE not in run.get("Volumes", {}):
            raise Bad(f"config declares no volume {STATE}")
    if args.unpack:
        for data in layers:
            with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                for member in layer.getmembers():
                    if member.name.startswith("/") or ".." in member.name.split("/"):
                        raise Bad(f"layer entry {member.name} leaves the root")
                layer.extractall(args.unpack, numeric_owner=True)
    print(f"{args.archive}: index, manifest {index['manifests'][0]['digest']}, config and "
          f"{len(layers)} layer(s) verified")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--root", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--ref", required=True)
    b.add_argument("--version", required=True)
    b.add_argument("--arch", default="amd64")
    b.add_argument("--created")
    c = sub.add_parser("check")
    c.add_argument("archive")
    c.add_argument("--unpack")
    args = parser.parse_args()
    try:
        build(args) if args.command == "build" else check(args)
    except (Bad, KeyError, ValueError, OSError, tarfile.TarError) as e:
        print(f"oci.py: {args.command}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
