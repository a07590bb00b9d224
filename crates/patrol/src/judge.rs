//! One container (or one exec) in, one verdict out: the same model, the
//! same resolution and the same rules as the gate.

use dockgate_engine::{Engine, EngineError};
use dockgate_inputs::inspect::{container_from_value_with, DaemonDefaults};
use dockgate_inputs::resolve::resolve;
use dockgate_model::{At, Operation, Resolution, Workload};
use dockgate_outputs::ContainerResult;
use dockgate_rules::{evaluate, Policy, Requester, Verdict};

/// Judges a container; `None` if it no longer exists.
pub async fn judge_container(
    engine: &Engine,
    policy: &Policy,
    id: &str,
    cgroup_v1: bool,
) -> Result<Option<ContainerResult>, EngineError> {
    let Some(doc) = engine.inspect(id).await? else {
        return Ok(None);
    };
    let defaults = DaemonDefaults {
        cgroupns_host: cgroup_v1,
    };
    let full_id = doc["Id"].as_str().unwrap_or(id).to_string();
    let name = doc["Name"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    let verdict = match container_from_value_with(&doc, defaults) {
        Ok(mut workload) => {
            resolve(&mut workload, engine.lookup()).await;
            evaluate(policy, &workload, &Requester::default())
        }
        Err(err) => Verdict::unreadable(err.to_string()),
    };
    let image = doc["Config"]["Image"].as_str().unwrap_or_default();
    Ok(Some(ContainerResult::running(
        full_id,
        name,
        image.to_string(),
        verdict,
    )))
}

/// Judges an exec session; the result names its container.
pub async fn judge_exec(
    engine: &Engine,
    policy: &Policy,
    exec_id: &str,
) -> Result<Option<ContainerResult>, EngineError> {
    let Some((privileged, user, container_id)) = engine.exec(exec_id).await? else {
        return Ok(None);
    };
    let Some(doc) = engine.inspect(&container_id).await? else {
        return Ok(None);
    };
    let mut workload = Workload::new(Operation::Exec);
    workload.privileged = Some(At::new(privileged, "ProcessConfig.privileged"));
    workload.user.requested = At::new(user, "ProcessConfig.user");
    workload.user.image_default = Resolution::Known(
        doc["Config"]["User"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );
    let verdict = evaluate(policy, &workload, &Requester::default());
    let name = doc["Name"].as_str().unwrap_or_default();
    let image = doc["Config"]["Image"].as_str().unwrap_or_default();
    Ok(Some(ContainerResult::running(
        container_id,
        name.trim_start_matches('/').to_string(),
        image.to_string(),
        verdict,
    )))
}
