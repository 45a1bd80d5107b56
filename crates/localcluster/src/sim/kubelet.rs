//! The simulated scheduler and kubelet: a Pod is bound to the one node, waits a moment in
//! `Pending`, then runs (Ready), crash-loops (an image matching the failure pattern), or — for a
//! Job's Pod — runs to completion or failure.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::client::Agent;
use super::{Manager, Task, glob_match, is_deleting, owner_refs, uid_of};
use crate::api::status::ApiResult;
use crate::store::Key;
use crate::util;

const SCHEDULER: Agent = Agent {
    product: "kube-scheduler",
    controller: "scheduler",
};
const KUBELET: Agent = Agent {
    product: "kubelet",
    controller: "kubelet",
};

fn containers(pod: &Value) -> Vec<Value> {
    pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn image_id(image: &str) -> String {
    let digest = super::workloads::template_hash(&json!(image));
    let base = image.split(':').next().unwrap_or(image);
    format!(
        "{base}@sha256:{}",
        util::hex(digest.repeat(4).as_bytes())
            .get(..64)
            .unwrap_or("")
    )
}

fn qos_class(pod: &Value) -> &'static str {
    let cs = containers(pod);
    let any = cs.iter().any(|c| {
        c["resources"]["requests"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
            || c["resources"]["limits"]
                .as_object()
                .is_some_and(|m| !m.is_empty())
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = cs.iter().all(|c| {
        let l = &c["resources"]["limits"];
        let r = &c["resources"]["requests"];
        ["cpu", "memory"]
            .iter()
            .all(|k| !l[k].is_null() && (r[k].is_null() || r[k] == l[k]))
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

impl Manager {
    fn fails(&self, pod: &Value) -> bool {
        let images = |f: &str| -> Vec<String> {
            pod["spec"][f]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["image"].as_str().map(str::to_owned))
                .collect()
        };
        images("containers")
            .iter()
            .chain(images("initContainers").iter())
            .any(|i| glob_match(&self.opts.fail_image, i))
    }

    pub(super) async fn pod(&mut self, k: &Key, pod: Value) -> ApiResult<()> {
        if is_deleting(&pod) {
            return Ok(());
        }
        let phase = pod["status"]["phase"].as_str().unwrap_or("").to_owned();
        if matches!(phase.as_str(), "Succeeded" | "Failed") {
            return Ok(());
        }
        let node = self.opts.node_name.clone();
        let mut pod = pod;
        if pod["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
            pod = self
                .client
                .merge_patch(
                    SCHEDULER,
                    k,
                    &json!({"metadata": {"resourceVersion": pod["metadata"]["resourceVersion"]},
                        "spec": {"nodeName": node}}),
                )
                .await?;
        }
        let uid = uid_of(&pod).to_owned();
        let now = util::now();
        let seen = *self
            .pod_seen
            .entry(uid.clone())
            .or_insert_with(Instant::now);
        let job_pod = owner_refs(&pod)
            .iter()
            .any(|r| r["kind"] == "Job" && r["controller"].as_bool() == Some(true));
        let failing = self.fails(&pod);
        let start_time = pod["status"]["startTime"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| now.clone());
        let cond = |t: &str, ok: bool, reason: Option<&str>| {
            let mut c = json!({"type": t, "status": if ok {"True"} else {"False"},
                "lastProbeTime": null, "lastTransitionTime": now});
            if let Some(r) = reason {
                c["reason"] = json!(r);
            }
            c
        };
        let pod_ip = match pod["status"]["podIP"].as_str() {
            Some(ip) => ip.to_owned(),
            None => self.next_ip(),
        };
        let ids = |c: &Value| {
            let image = c["image"].as_str().unwrap_or("");
            (
                image_id(image),
                format!(
                    "containerd://{}",
                    util::hex(template_hash(&json!([uid, c["name"]])).as_bytes())
                ),
            )
        };
        use super::workloads::template_hash;
        let mut status = json!({
            "phase": "Pending",
            "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
            "startTime": start_time,
            "qosClass": qos_class(&pod),
        });
        if phase.is_empty() || phase == "Pending" && seen.elapsed() < self.opts.pod_start_delay {
            // Scheduled, containers being created.
            status["conditions"] = json!([
                cond("PodReadyToStartContainers", false, None),
                cond("Initialized", true, None),
                cond("Ready", false, Some("ContainersNotReady")),
                cond("ContainersReady", false, Some("ContainersNotReady")),
                cond("PodScheduled", true, None),
            ]);
            status["containerStatuses"] = json!(
                containers(&pod)
                    .iter()
                    .map(|c| json!({
                "name": c["name"], "image": c["image"], "imageID": "", "ready": false,
                "started": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}))
                    .collect::<Vec<_>>()
            );
            if phase.is_empty() {
                let mut o = pod.clone();
                o["status"] = status;
                self.client.update(KUBELET, k, &o, true).await?;
            }
            let left = self.opts.pod_start_delay.saturating_sub(seen.elapsed());
            self.later(left, Task::Object(k.clone()));
            return Ok(());
        }
        status["podIP"] = json!(pod_ip);
        status["podIPs"] = json!([{"ip": pod_ip}]);
        let started = *self
            .pod_started
            .entry(uid.clone())
            .or_insert_with(Instant::now);
        let finished = job_pod && started.elapsed() >= self.opts.job_run_time;
        let statuses: Vec<Value> = containers(&pod)
            .iter()
            .map(|c| {
                let (image_id, container_id) = ids(c);
                let mut s = json!({"name": c["name"], "image": c["image"], "imageID": image_id,
                    "containerID": container_id, "restartCount": 0, "lastState": {}});
                if finished {
                    let (code, reason) = if failing { (1, "Error") } else { (0, "Completed") };
                    s["ready"] = json!(false);
                    s["started"] = json!(false);
                    s["state"] = json!({"terminated": {"exitCode": code, "reason": reason,
                        "startedAt": start_time, "finishedAt": now, "containerID": container_id}});
                } else if failing && !job_pod {
                    s["ready"] = json!(false);
                    s["started"] = json!(false);
                    s["restartCount"] = json!(1);
                    s["state"] = json!({"waiting": {"reason": "CrashLoopBackOff",
                        "message": format!("back-off 10s restarting failed container={} pod={}", c["name"].as_str().unwrap_or(""), k.name)}});
                    s["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error",
                        "startedAt": start_time, "finishedAt": now, "containerID": container_id}});
                } else {
                    s["ready"] = json!(true);
                    s["started"] = json!(true);
                    s["state"] = json!({"running": {"startedAt": start_time}});
                }
                s
            })
            .collect();
        let ready = statuses.iter().all(|s| s["ready"] == true);
        let (phase, ready_reason) = if finished {
            (
                if failing { "Failed" } else { "Succeeded" },
                Some("PodCompleted"),
            )
        } else if ready {
            ("Running", None)
        } else {
            ("Running", Some("ContainersNotReady"))
        };
        status["phase"] = json!(phase);
        status["conditions"] = json!([
            cond("PodReadyToStartContainers", !finished, None),
            cond("Initialized", true, finished.then_some("PodCompleted")),
            cond("Ready", ready, ready_reason),
            cond("ContainersReady", ready, ready_reason),
            cond("PodScheduled", true, None),
        ]);
        status["containerStatuses"] = json!(statuses);
        // Keep transition times of conditions whose status did not change, so a re-sync
        // writes nothing.
        if let (Some(new), Some(old)) = (
            status["conditions"].as_array_mut(),
            pod["status"]["conditions"].as_array(),
        ) {
            for c in new.iter_mut() {
                if let Some(o) = old
                    .iter()
                    .find(|o| o["type"] == c["type"] && o["status"] == c["status"])
                {
                    c["lastTransitionTime"] = o["lastTransitionTime"].clone();
                }
            }
        }
        if let (Some(new), Some(old)) = (
            status["containerStatuses"].as_array_mut(),
            pod["status"]["containerStatuses"].as_array(),
        ) {
            for (c, o) in new.iter_mut().zip(old) {
                if c["state"].as_object().map(|m| m.keys().next().cloned())
                    == o["state"].as_object().map(|m| m.keys().next().cloned())
                {
                    c["state"] = o["state"].clone();
                    c["lastState"] = o["lastState"].clone();
                }
            }
        }
        if job_pod && !finished {
            let left = self.opts.job_run_time.saturating_sub(started.elapsed());
            self.later(left, Task::Object(k.clone()));
        }
        if pod["status"] != status {
            let mut o = pod.clone();
            o["status"] = status;
            self.client.update(KUBELET, k, &o, true).await?;
        }
        Ok(())
    }
}
