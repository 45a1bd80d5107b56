//! Simulated workloads, driven by kubectl: Deployments roll out and scale, Jobs complete or fail,
//! StatefulSets, DaemonSets, Services and claims get what their controllers give them.

use serde_json::Value;

use crate::support::{DEPLOYMENT, Env, eventually};

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

fn pods(env: &Env, selector: &str) -> Vec<Value> {
    items(&env.json(&["get", "pods", "-l", selector]))
}

#[test]
fn deployment_becomes_available_and_scales() {
    let env = Env::new();
    let f = env.write("d.yaml", DEPLOYMENT);
    assert!(env.apply_file(&f, &[]).status.success());
    let out = env.ok(&[
        "wait",
        "--for=condition=Available",
        "deployment/web",
        "--timeout=2s",
    ]);
    assert!(out.contains("condition met"), "{out}");
    env.ok(&["rollout", "status", "deployment/web", "--timeout=2s"]);
    let d = env.json(&["get", "deployment", "web"]);
    let s = &d["status"];
    assert_eq!(s["observedGeneration"], 1);
    for f in [
        "replicas",
        "readyReplicas",
        "availableReplicas",
        "updatedReplicas",
    ] {
        assert_eq!(s[f], 2, "{f}: {s}");
    }
    let progressing = s["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap();
    assert_eq!(progressing["reason"], "NewReplicaSetAvailable");

    let rs = items(&env.json(&["get", "replicasets"]));
    assert_eq!(rs.len(), 1);
    let hash = rs[0]["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(rs[0]["metadata"]["name"], format!("web-{hash}"));
    assert_eq!(
        rs[0]["metadata"]["ownerReferences"][0]["kind"],
        "Deployment"
    );
    assert_eq!(
        rs[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let p = pods(&env, "app=web");
    assert_eq!(p.len(), 2);
    for pod in &p {
        assert_eq!(pod["status"]["phase"], "Running");
        assert_eq!(
            pod["metadata"]["labels"]["pod-template-hash"],
            hash.as_str()
        );
        assert_eq!(pod["spec"]["nodeName"], "trellis-local");
        assert_eq!(pod["status"]["containerStatuses"][0]["ready"], true);
    }
    // Controllers write through the API, under their own user agent and field manager.
    let internal: Vec<_> = env
        .audit()
        .entries()
        .into_iter()
        .filter(|e| e.internal())
        .collect();
    assert!(
        internal
            .iter()
            .any(|e| e.verb == "create" && e.resource == "replicasets")
    );
    assert!(
        internal
            .iter()
            .any(|e| e.verb == "create" && e.resource == "pods")
    );
    let d = env.json(&["get", "deployment", "web", "--show-managed-fields"]);
    let managers: Vec<String> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        managers.contains(&"kube-controller-manager".to_owned()),
        "{managers:?}"
    );

    env.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":3}}"#,
    ]);
    eventually(|| (pods(&env, "app=web").len() == 3).then_some(()));
    env.ok(&[
        "wait",
        "--for=jsonpath={.status.readyReplicas}=3",
        "deployment/web",
        "--timeout=2s",
    ]);
    env.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":1}}"#,
    ]);
    eventually(|| (pods(&env, "app=web").len() == 1).then_some(()));
    env.ok(&[
        "wait",
        "--for=jsonpath={.status.replicas}=1",
        "deployment/web",
        "--timeout=2s",
    ]);
}

#[test]
fn rollout_on_image_change_replaces_the_replica_set() {
    let env = Env::new();
    let f = env.write("d.yaml", DEPLOYMENT);
    assert!(env.apply_file(&f, &[]).status.success());
    env.ok(&["rollout", "status", "deployment/web", "--timeout=2s"]);
    let old = items(&env.json(&["get", "replicasets"]))[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let f = env.write("d2.yaml", &DEPLOYMENT.replace("nginx:1.25", "nginx:1.27"));
    assert!(env.apply_file(&f, &[]).status.success());
    env.ok(&["rollout", "status", "deployment/web", "--timeout=2s"]);
    let d = env.json(&["get", "deployment", "web"]);
    assert_eq!(d["status"]["observedGeneration"], 2);
    assert_eq!(d["status"]["updatedReplicas"], 2);
    let rs = items(&env.json(&["get", "replicasets"]));
    assert_eq!(rs.len(), 2);
    let (new, old_rs): (Vec<_>, Vec<_>) = rs
        .iter()
        .partition(|r| r["metadata"]["name"] != old.as_str());
    assert_eq!(
        new[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    assert_eq!(old_rs[0]["spec"]["replicas"], 0);
    let hash = new[0]["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = eventually(|| {
        let p = pods(&env, "app=web");
        (p.len() == 2).then_some(p)
    });
    for pod in p {
        assert_eq!(
            pod["metadata"]["labels"]["pod-template-hash"],
            hash.as_str()
        );
        assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.27");
    }
}

#[test]
fn failing_image_crash_loops_and_jobs_complete_or_fail() {
    let env = Env::new();
    let f = env.write("d.yaml", &DEPLOYMENT.replace("nginx:1.25", "nginx:fail"));
    assert!(env.apply_file(&f, &[]).status.success());
    let pod = eventually(|| {
        pods(&env, "app=web").into_iter().find(|p| {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        })
    });
    assert_eq!(pod["status"]["phase"], "Running");
    assert_eq!(pod["status"]["containerStatuses"][0]["ready"], false);
    let table = env.ok(&["get", "pods", "-l", "app=web"]);
    assert!(table.contains("CrashLoopBackOff"), "{table}");
    let d = env.json(&["get", "deployment", "web"]);
    let available = d["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Available")
        .unwrap()
        .clone();
    assert_eq!(available["status"], "False", "{d}");

    let job = |name: &str, image: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n  backoffLimit: 1\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: main, image: \"{image}\"}}]\n"
        )
    };
    let f = env.write(
        "jobs.yaml",
        &format!(
            "{}---\n{}",
            job("ok", "busybox:1.36"),
            job("bad", "busybox:fail")
        ),
    );
    assert!(env.apply_file(&f, &[]).status.success());
    env.ok(&["wait", "--for=condition=Complete", "job/ok", "--timeout=2s"]);
    env.ok(&["wait", "--for=condition=Failed", "job/bad", "--timeout=2s"]);
    let table = env.ok(&["get", "jobs"]);
    assert!(
        table.contains("Complete") && table.contains("Failed"),
        "{table}"
    );
    let ok = env.json(&["get", "job", "ok"]);
    assert_eq!(ok["status"]["succeeded"], 1);
    assert!(ok["status"]["completionTime"].is_string());
    let bad = env.json(&["get", "job", "bad"]);
    assert_eq!(
        bad["status"]["failed"], 2,
        "backoffLimit 1 allows one retry: {bad}"
    );
    let failed = bad["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Failed")
        .unwrap()
        .clone();
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    let job_pods = pods(&env, "job-name=bad");
    assert_eq!(job_pods.len(), 2);
    assert!(job_pods.iter().all(|p| p["status"]["phase"] == "Failed"));
}

#[test]
fn statefulsets_daemonsets_services_and_claims() {
    let env = Env::new();
    let f = env.write(
        "all.yaml",
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: "agent:1"}]}
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  selector: {app: db}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: lb, port: {number: 80}}}}
"#,
    );
    assert!(env.apply_file(&f, &[]).status.success());
    env.ok(&["rollout", "status", "statefulset/db", "--timeout=2s"]);
    env.ok(&["rollout", "status", "daemonset/agent", "--timeout=2s"]);
    let sts = env.json(&["get", "statefulset", "db"]);
    assert_eq!(sts["status"]["readyReplicas"], 2);
    assert_eq!(
        sts["status"]["currentRevision"],
        sts["status"]["updateRevision"]
    );
    let names: Vec<String> = pods(&env, "app=db")
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["db-0", "db-1"]);
    env.ok(&[
        "wait",
        "--for=jsonpath={.status.phase}=Bound",
        "pvc/data-db-0",
        "pvc/data-db-1",
        "--timeout=2s",
    ]);
    let pvc = env.json(&["get", "pvc", "data-db-0"]);
    assert_eq!(pvc["status"]["capacity"]["storage"], "1Gi");
    let pv = pvc["spec"]["volumeName"].as_str().unwrap().to_owned();
    assert_eq!(env.json(&["get", "pv", &pv])["status"]["phase"], "Bound");
    let ds = env.json(&["get", "daemonset", "agent"]);
    assert_eq!(ds["status"]["numberReady"], 1);
    assert_eq!(ds["status"]["desiredNumberScheduled"], 1);
    let ingress = eventually(|| {
        let i = env.json(&["get", "ingress", "web"]);
        i["status"]["loadBalancer"]["ingress"][0]["ip"]
            .is_string()
            .then_some(i)
    });
    assert!(
        ingress["status"]["loadBalancer"]["ingress"][0]["ip"]
            .as_str()
            .unwrap()
            .starts_with("172.18.255.")
    );
    let svc = eventually(|| {
        let s = env.json(&["get", "service", "lb"]);
        s["status"]["loadBalancer"]["ingress"][0]["ip"]
            .is_string()
            .then_some(s)
    });
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .unwrap()
            .starts_with("10.96.")
    );
    assert!(!env.ok(&["get", "nodes", "-o", "name"]).trim().is_empty());

    // A template change rolls the StatefulSet pod by pod.
    env.ok(&["set", "image", "statefulset/db", "db=postgres:17"]);
    env.ok(&["rollout", "status", "statefulset/db", "--timeout=2s"]);
    let p = pods(&env, "app=db");
    assert_eq!(p.len(), 2);
    assert!(
        p.iter()
            .all(|p| p["spec"]["containers"][0]["image"] == "postgres:17")
    );
}

#[test]
fn without_simulation_nothing_happens() {
    let env = Env::with(trellis_localcluster::ServeOptions {
        simulate: false,
        ..Default::default()
    });
    let f = env.write("d.yaml", DEPLOYMENT);
    assert!(env.apply_file(&f, &[]).status.success());
    // Deleting an owner still collects its dependents: garbage collection always runs.
    assert!(env.json(&["get", "deployment", "web"])["status"].is_null());
    assert!(items(&env.json(&["get", "replicasets"])).is_empty());
    assert!(env.audit().entries().iter().all(|e| !e.internal()));
}

#[test]
fn a_rollout_to_a_failing_image_keeps_the_old_pods_serving() {
    let env = Env::new();
    let f = env.write("d.yaml", DEPLOYMENT);
    assert!(env.apply_file(&f, &[]).status.success());
    env.ok(&["rollout", "status", "deployment/web", "--timeout=2s"]);
    let f = env.write("bad.yaml", &DEPLOYMENT.replace("nginx:1.25", "nginx:fail"));
    assert!(env.apply_file(&f, &[]).status.success());
    // maxSurge 25% of 2 rounds up to one extra pod, maxUnavailable rounds down to none: one
    // crash-looping new pod, both old ones kept.
    let p = eventually(|| {
        let p = pods(&env, "app=web");
        let crashing = p
            .iter()
            .filter(|p| {
                p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                    == "CrashLoopBackOff"
            })
            .count();
        (p.len() == 3 && crashing == 1).then_some(p)
    });
    let ready = p
        .iter()
        .filter(|p| p["status"]["containerStatuses"][0]["ready"] == true)
        .count();
    assert_eq!(ready, 2);
    let d = env.json(&["get", "deployment", "web"]);
    assert_eq!(d["status"]["availableReplicas"], 2);
    assert_eq!(d["status"]["updatedReplicas"], 1);
    let cond = |t: &str| {
        d["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == t)
            .unwrap()
            .clone()
    };
    assert_eq!(cond("Available")["status"], "True");
    assert_eq!(cond("Progressing")["reason"], "ReplicaSetUpdated");
}
