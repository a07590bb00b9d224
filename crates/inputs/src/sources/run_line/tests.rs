use dockgate_model::{MountKind, NamespaceKind, NamespaceMode};

use super::*;

fn one(line: &str) -> Target {
    let mut targets = parse_lines("run.sh", line).unwrap();
    assert_eq!(targets.len(), 1, "{line}");
    targets.remove(0)
}

fn err(line: &str) -> String {
    parse_lines("run.sh", line).unwrap_err().to_string()
}

fn bind_paths(t: &Target) -> Vec<String> {
    t.workload
        .mounts
        .iter()
        .filter_map(|m| match &m.kind {
            MountKind::Bind { host_path, .. } => Some(format!("{host_path}>{}", m.target)),
            _ => None,
        })
        .collect()
}

#[test]
fn flag_value_forms() {
    for line in [
        "docker run -v /:/host alpine",
        "docker run --volume /:/host alpine",
        "docker run --volume=/:/host alpine",
        "docker run -v/:/host alpine",
        "docker run -v=/:/host alpine",
        "docker run -itv /:/host alpine sh",
        "docker create -v /:/host alpine",
        "docker container run -v /:/host alpine",
        "sudo docker -H unix:///var/run/docker.sock run -v /:/host alpine",
        "docker run -v /:/host -- alpine",
    ] {
        let t = one(line);
        assert_eq!(bind_paths(&t), ["/>/host"], "{line}");
        assert_eq!(t.workload.image.as_ref().unwrap().value, "alpine", "{line}");
    }
}

#[test]
fn combined_short_flags_and_booleans() {
    let t = one("docker run -itdP --rm=false --privileged alpine");
    assert!(t.workload.is_privileged());
    assert!(t.workload.publish_all.as_ref().unwrap().value);
    let t = one("docker run --privileged=false alpine");
    assert!(!t.workload.is_privileged());
}

#[test]
fn repeated_flags_accumulate() {
    let t = one(
        "docker run -v /a:/a -v /b:/b --cap-add NET_ADMIN --cap-add SYS_ADMIN -e A=1 -e B=2 alpine",
    );
    assert_eq!(bind_paths(&t), ["/a>/a", "/b>/b"]);
    let caps: Vec<_> = t
        .workload
        .cap_add
        .iter()
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(caps, ["NET_ADMIN", "SYS_ADMIN"]);
    assert_eq!(t.workload.env.len(), 2);
}

#[test]
fn image_and_command_are_the_first_words() {
    let t = one("docker run --name web alpine -v /:/host sh -c 'echo hi'");
    assert_eq!(t.name, "web");
    assert!(
        bind_paths(&t).is_empty(),
        "flags after the image belong to the command"
    );
}

#[test]
fn every_setting_reaches_the_model() {
    let t = one(
        "docker run --network host --pid=host --ipc host --uts host --userns host --cgroupns host \
         --device /dev/sda:/dev/xvda --device-cgroup-rule 'c 1:3 rwm' --gpus all \
         --security-opt seccomp=unconfined --sysctl kernel.msgmax=1 -p 8080:80 -u 0 \
         --mount type=bind,source=/etc,target=/e,readonly,bind-propagation=rshared \
         --tmpfs /run:size=1m --read-only -m 64m --pids-limit 10 --runtime runsc \
         --cgroup-parent /x --volumes-from other:ro --annotation run.oci.keep_original_groups=1 alpine",
    );
    let w = &t.workload;
    for kind in NamespaceKind::ALL {
        assert_eq!(
            w.namespace(kind).unwrap().value,
            NamespaceMode::Host,
            "{kind:?}"
        );
    }
    assert_eq!(w.devices.len(), 2);
    assert_eq!(w.device_cgroup_rules[0].value, "c 1:3 rwm");
    assert!(w.security.seccomp_unconfined.is_some());
    assert_eq!(w.sysctls[0].value.0, "kernel.msgmax");
    assert_eq!(
        w.annotations[0].value,
        ("run.oci.keep_original_groups".to_string(), "1".to_string())
    );
    assert_eq!(w.ports[0].host_port, "8080");
    assert_eq!(w.user.requested.value, "0");
    assert_eq!(
        w.mounts
            .iter()
            .filter(|m| m.propagation.as_deref() == Some("rshared"))
            .count(),
        1
    );
    assert!(w.read_only_rootfs.as_ref().unwrap().value);
    assert_eq!(w.limits.memory.as_ref().unwrap().value, 64 << 20);
    assert_eq!(w.limits.pids.as_ref().unwrap().value, 10);
    assert_eq!(w.runtime.as_ref().unwrap().value, "runsc");
    assert_eq!(w.cgroup_parent.as_ref().unwrap().value, "/x");
    assert_eq!(w.volumes_from[0].value, "other:ro");
}

#[test]
fn fields_and_locations_name_the_flag() {
    let t = one("# start it\n  docker run \\\n    -v /:/host \\\n    --privileged alpine\n");
    let bind = &t.workload.mounts[0];
    assert_eq!(bind.field, "-v /:/host");
    assert_eq!(t.location(&bind.field).to_string(), "run.sh:3:5");
    assert_eq!(
        t.workload.privileged.as_ref().unwrap().field,
        "--privileged"
    );
    assert_eq!(t.location("--privileged").to_string(), "run.sh:4:5");
    assert_eq!(t.origin.to_string(), "run.sh:2:3");
}

#[test]
fn scripts_hold_several_commands() {
    let targets = parse_lines(
        "deploy.sh",
        "set -e\ndocker pull alpine && docker run -d --name a alpine; docker create --name b -v /etc:/e alpine\necho done | docker run --name c alpine\n",
    )
    .unwrap();
    let names: Vec<_> = targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
}

#[test]
fn errors_name_the_problem() {
    assert_eq!(
        err("docker run --frobnicate alpine"),
        "run.sh:1:12: unknown flag: --frobnicate"
    );
    assert_eq!(
        err("docker run -itz alpine"),
        "run.sh:1:12: unknown shorthand flag: 'z' in -itz"
    );
    assert_eq!(
        err("docker run --volume"),
        "run.sh:1:12: flag needs an argument: --volume"
    );
    assert_eq!(
        err("docker run -d"),
        "run.sh:1:1: docker run: no image given"
    );
    assert_eq!(
        err("docker run 'alpine"),
        "run.sh:1:12: unterminated ' quote"
    );
    assert_eq!(
        err("docker run -p a:b:c:d alpine"),
        // go-connections' message, as the docker CLI prints it.
        "run.sh:1:12: -p: Invalid ip address: a:b"
    );
}

#[test]
fn argv_form() {
    let argv: Vec<String> = ["docker", "run", "-v", "/:/host", "alpine"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let t = parse_argv(&argv).unwrap();
    assert_eq!(bind_paths(&t), ["/>/host"]);
    assert_eq!(t.location("-v /:/host").to_string(), "command line:1:12");
    assert_eq!(
        parse_argv(&["ls".to_string()]).unwrap_err().to_string(),
        "command line:1:1: expected `docker run`, `docker create`, `docker exec` or `docker container run|create|exec`"
    );
}

#[test]
fn booleans_read_as_go_parses_them() {
    for spelling in ["1", "t", "T", "TRUE", "true", "True"] {
        let t = one(&format!("docker run --privileged={spelling} alpine"));
        assert!(t.workload.is_privileged(), "{spelling}");
    }
    for spelling in ["0", "f", "F", "FALSE", "false", "False"] {
        let t = one(&format!(
            "docker run --privileged={spelling} -P={spelling} alpine"
        ));
        assert!(!t.workload.is_privileged(), "{spelling}");
    }
    assert_eq!(
        err("docker run --privileged=yes alpine"),
        "run.sh:1:12: invalid argument \"yes\" for \"--privileged\" flag: strconv.ParseBool: parsing \"yes\": invalid syntax"
    );
}

fn unresolved(t: &Target) -> Vec<(String, String)> {
    t.workload
        .mounts
        .iter()
        .filter_map(|m| match &m.kind {
            MountKind::UnresolvedBind {
                written,
                unresolved,
            } => Some((written.clone(), unresolved.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn shell_expansions_are_binds_of_unknown_paths() {
    let cases = [
        (
            "docker run -v $HOME/.ssh:/keys alpine",
            "$HOME/.ssh",
            "$HOME",
        ),
        ("docker run -v \"$(pwd)\":/src alpine", "$(pwd)", "$(pwd)"),
        (
            "docker run -v ${DIR:-/srv}/x:/x alpine",
            "${DIR:-/srv}/x",
            "${DIR:-/srv}",
        ),
        ("docker run -v `pwd`/a:/a alpine", "`pwd`/a", "`pwd`"),
        ("docker run -v ~/.aws:/aws alpine", "~/.aws", "~"),
        ("docker run -v ~deploy/x:/x alpine", "~deploy/x", "~deploy"),
        ("docker run --volume=~/x:/x alpine", "~/x", "~"),
        (
            "docker run --mount type=bind,src=$PWD,dst=/w alpine",
            "$PWD",
            "$PWD",
        ),
    ];
    for (line, written, what) in cases {
        let t = one(line);
        assert_eq!(
            unresolved(&t),
            [(written.to_string(), what.to_string())],
            "{line}"
        );
        assert_eq!(t.workload.mounts[0].host_effect(), dockgate_model::HostPathEffect::Unknown(format!("its host path {written:?} depends on {what}, which only the shell that runs it knows")), "{line}");
    }
    // Quoted against the shell, the text reaches the CLI as written.
    let t = one("docker run -v '$HOME/x':/x alpine");
    assert!(unresolved(&t).is_empty());
}

#[test]
fn exec_lines_are_judged_as_exec_requests() {
    let t = one("docker exec --privileged -u root -e A=1 web sh -c 'id'");
    assert_eq!(t.workload.operation, dockgate_model::Operation::Exec);
    assert!(t.workload.is_privileged());
    assert_eq!(t.workload.user.requested.value, "root");
    assert_eq!(t.workload.user.requested.field, "-u");
    assert_eq!(t.name, "docker exec web");
    let t = one("docker container exec -it web sh");
    assert!(!t.workload.is_privileged());
    assert_eq!(
        err("docker exec -v /:/host web sh"),
        "run.sh:1:13: unknown shorthand flag: 'v' in -v"
    );
    assert_eq!(
        err("docker exec -it"),
        "run.sh:1:1: docker exec: no container given"
    );
}

/// Shell forms that hid a `docker run` or its flags from an earlier
/// reader: each is found, or refused when only the shell could tell.
#[test]
fn shell_forms_that_hide_flags() {
    let privileged = |t: &Target| t.workload.privileged.as_ref().is_some_and(|p| p.value);
    for line in [
        "CID=$(docker run -d --privileged alpine)",
        "x=`docker run --privileged alpine`",
        "docker run $'--privileged' alpine",
        "docker run $\"--privileged\" alpine",
        "docker run -d 2>/dev/null --privileged alpine",
        "docker run -d 2>&1 --privileged alpine >> log",
        "FOO=/usr/bin/docker docker run --privileged alpine",
        "sudo -g docker docker run --privileged alpine",
    ] {
        assert!(privileged(&one(line)), "{line}");
    }
    assert_eq!(
        err("docker run $EXTRA_OPTS -v /:/host alpine"),
        "run.sh:1:12: $EXTRA_OPTS may hold flags, which only the shell that runs the line knows; write the flags out"
    );
    assert_eq!(
        err("docker run --network $N alpine"),
        "run.sh:1:12: --network: the value $N depends on the shell that runs the line; write it out"
    );
    // What a variable may hold is harmless here, or reported as unknown.
    let t = one("docker run -e A=$B --user \"$(id -u)\" -v \"$SRC:/data\" \"$IMAGE\"");
    assert!(matches!(
        t.workload.mounts[0].kind,
        MountKind::UnresolvedBind { .. }
    ));
    // The CLI's long `--network` form and CSV-quoted `--mount` values.
    let t = one("docker run --network name=host,alias=web alpine");
    assert_eq!(
        t.workload
            .namespace(NamespaceKind::Network)
            .map(|m| &m.value),
        Some(&NamespaceMode::Host)
    );
    let t = one("docker run --mount 'type=bind,\"target=/h,type=volume\",source=/' alpine");
    assert_eq!(bind_paths(&t), ["/>/h,type=volume"]);
    let t =
        one("docker run --mount type=bind,src=/srv,dst=/s,readonly,bind-recursive=writable alpine");
    assert!(!t.workload.mounts[0].read_only);
}
