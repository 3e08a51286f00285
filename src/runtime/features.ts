// `berth-runtime features` (runtime-spec features.md): what this build supports, as data.
import { CAPABILITIES } from "../sys/capabilities.ts";
import { KNOWN_ACTIONS, KNOWN_ARCHES, KNOWN_FLAGS, KNOWN_OPERATORS } from "../seccomp/compile.ts";

export function featuresDocument() {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: "1.0.2-dev",
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: [
      "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "idmap", "iversion", "lazytime", "loud",
      "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand", "norelatime",
      "nostrictatime", "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev", "rdiratime", "relatime",
      "remount", "rexec", "ridmap", "rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime",
      "rnosuid", "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave",
      "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave", "strictatime",
      "suid", "symfollow", "sync", "tmpcopyup", "unbindable",
    ],
    linux: {
      namespaces: ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
      capabilities: CAPABILITIES,
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: { enabled: true, actions: KNOWN_ACTIONS, operators: KNOWN_OPERATORS, archs: KNOWN_ARCHES, supportedFlags: KNOWN_FLAGS },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
    },
    annotations: {
      "io.github.berth.checkpoint": "unsupported: CRIU does not work on this kernel",
      "io.github.berth.explain": "true",
    },
  };
}
