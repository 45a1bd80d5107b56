//! ssh locations: the configured key and non-interactive options reach ssh.
//!
//! No ssh server runs here, so the ssh program is a small script that records its arguments and
//! runs the requested git command locally, as sshd would on the server.

use std::os::unix::fs::PermissionsExt;

use trellis_source::{RepoCredentials, SourceConfig, Sources};

use crate::support::{WorkRepo, git};

#[test]
fn ssh_locations_use_the_configured_key() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::init(&tmp.path().join("work"));
    let commit = work.commit(&[("apps/web.yaml", "web\n")], "one");
    let served = tmp.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    git(
        &served,
        &[
            "clone",
            "--quiet",
            "--bare",
            work.dir.to_str().unwrap(),
            "infra.git",
        ],
    );
    let repo_path = served.join("infra.git");

    let log = tmp.path().join("ssh.log");
    let script = tmp.path().join("fake-ssh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nfor last; do :; done\n\
             case \"$last\" in git-upload-pack*) exec sh -c \"$last\";; esac\nexit 255\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let key = tmp.path().join("id_deploy");
    std::fs::write(&key, "not a real key").unwrap();

    let mut config = SourceConfig::new(tmp.path().join("cache"));
    config.ssh_command = Some(script.display().to_string());
    config.credentials.push(RepoCredentials {
        url_prefix: "ssh://git@git.example.invalid/".to_string(),
        ssh_private_key_file: Some(key.clone()),
        ..RepoCredentials::default()
    });
    config.credentials.push(RepoCredentials {
        url_prefix: "git@git.example.invalid:".to_string(),
        ssh_private_key_file: Some(key.clone()),
        ..RepoCredentials::default()
    });
    let s = Sources::new(config).unwrap();

    let url = format!("ssh://git@git.example.invalid{}", repo_path.display());
    let snap = s.snapshot(&url, "main").unwrap();
    assert_eq!(snap.commit(), Some(commit.as_str()));
    assert_eq!(snap.read_file("apps/web.yaml").unwrap(), b"web\n");

    let scp = format!("git@git.example.invalid:{}", repo_path.display());
    assert_eq!(s.resolve(&scp, "main").unwrap(), commit);

    let calls = std::fs::read_to_string(&log).unwrap();
    let runs: Vec<&str> = calls
        .lines()
        .filter(|l| l.contains("git-upload-pack"))
        .collect();
    assert!(runs.len() >= 2, "{calls}");
    for run in runs {
        assert!(run.contains(&format!("-i {}", key.display())), "{run}");
        assert!(run.contains("IdentitiesOnly=yes"), "{run}");
        assert!(run.contains("BatchMode=yes"), "{run}");
        assert!(run.contains("git@git.example.invalid"), "{run}");
    }
}
