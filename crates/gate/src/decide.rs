//! One AuthZ request in, one verdict and one audit record out.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use dockgate_inputs::authz::routes::Endpoint;
use dockgate_inputs::authz::{
    compat, created_as, created_container, read_request, reads_existing_container, same_request,
    AuthzRequest, AuthzResponseCall, ReadRequest,
};
use dockgate_inputs::resolve::{resolve, DaemonLookup, LookupError};
use dockgate_model::{At, NamespaceKind, NamespaceMode, Operation, Resolution, Target, Workload};
use dockgate_rules::{
    evaluate, evaluate_request_rule, Decision, Policy, PolicyError, Requester, SentRequest, Verdict,
};

use dockgate_outputs::AuditRecord;

use crate::metrics::Metrics;

/// How long deciding one request may take, waiting for a look-up slot and
/// every look-up included, before the request is denied. The daemon waits
/// for the answer while its client waits for the daemon.
pub const DECISION_TIME: Duration = Duration::from_secs(5);

/// The decision engine: the policy in force and a way to ask the daemon.
pub struct Gate<L> {
    policy: RwLock<Arc<Policy>>,
    /// Why no policy is in force: the file could not be read at start.
    /// Until a valid one is installed, every request but ping and version
    /// is refused with this reason.
    broken: RwLock<Option<String>>,
    lookup: L,
    metrics: Arc<Metrics>,
    /// Creates allowed and not yet answered, with the workload their
    /// request reads as: the daemon's response call repeats the request,
    /// and learning from it need not read the same body again.
    pending_creates: Mutex<VecDeque<(AuthzRequest, Workload)>>,
    /// The secret that marks the gate's own look-ups (header
    /// `X-Dockgate-Lookup`), which a policy in opa-docker-authz's form
    /// does not judge: a policy that lets only named users read would
    /// otherwise refuse the look-ups every decision needs.
    marker: Option<String>,
}

/// What judging the objects a request reaches needs.
struct Judge<'a> {
    policy: &'a Policy,
    requester: &'a Requester,
    deadline: Instant,
}

/// Names the request in its audit record: its path and endpoint.
fn name_in_record(record: &mut AuditRecord, read: &ReadRequest) {
    record.path = read.path.path.clone();
    record.endpoint = read.endpoint_name();
}

/// The decision while no valid policy is in force: ping and version go
/// through, so that clients and the daemon can still talk and show the
/// reason; everything else is refused with it.
fn refuse_without_policy(
    request: &AuthzRequest,
    mut record: AuditRecord,
    route: &mut &'static str,
    error: &str,
) -> (Verdict, AuditRecord) {
    record.policy_hash = "none".to_string();
    if let Ok(read) = read_request(request) {
        name_in_record(&mut record, &read);
        if let Some(matched) = &read.route {
            *route = matched.route.name;
            if matches!(matched.route.name, "system.ping" | "system.version") {
                let verdict = Verdict {
                    decision: Decision::Allow,
                    findings: Vec::new(),
                };
                let record = record.finish(&verdict);
                return (verdict, record);
            }
        }
    }
    let verdict = Verdict::unjudged(format!(
        "no valid policy is in force, so every request but ping and version is refused: {error}; \
         fix the policy file (dockgate policy validate), and it is loaded at once"
    ));
    let record = record.finish(&verdict);
    (verdict, record)
}

/// A request as a policy in opa-docker-authz's form reads it: the path
/// and body as the daemon reads them, the rest as sent. An error says why
/// it cannot be given to such a policy.
pub fn sent_request(request: &AuthzRequest, read: &ReadRequest) -> Result<SentRequest, String> {
    let route = read.route.as_ref().map(|m| m.route.name);
    if route == Some("container.start") && read.workload.operation == Operation::Container {
        return Err(
            "a start that applies a HostConfig (API below 1.24) cannot be judged by the policy in \
             opa-docker-authz's form, which judges the create request"
                .to_string(),
        );
    }
    let body = compat::body(request, read).map_err(|why| {
        format!("its body cannot be given to the policy in opa-docker-authz's form: {why}")
    })?;
    Ok(SentRequest {
        method: request.method.clone(),
        path: compat::routed_path(read),
        query: read.path.query.clone(),
        headers: request.headers.clone().unwrap_or_default(),
        body,
        user: request.user.clone(),
        auth_method: request.user_authn_method.clone(),
    })
}

/// Compares a secret without telling, by the time taken, how much of it
/// a guess got right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How many `--pid container:` joins past the first are followed.
const PID_JOINS_FOLLOWED: usize = 4;

/// The container whose PID namespace a workload joins (`--pid container:X`).
fn pid_join(workload: &Workload) -> Option<String> {
    match &workload.namespace(NamespaceKind::Pid)?.value {
        NamespaceMode::Container { target, .. } => Some(target.clone()),
        _ => None,
    }
}

/// Asks the daemon about `subject` before the decision's deadline; a
/// failure or a time-out is the reason to deny, in the words the audit log
/// keeps: "cannot look up SUBJECT PURPOSE: ..." or "the daemon did not
/// answer the look-up of SUBJECT in time ...".
async fn look_up<T>(
    deadline: Instant,
    subject: &str,
    purpose: &str,
    asked: impl std::future::Future<Output = Result<T, LookupError>>,
) -> Result<T, String> {
    match tokio::time::timeout_at(deadline, asked).await {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(err)) => Err(format!("cannot look up {subject}{purpose}: {err}")),
        Err(_) => Err(late(subject)),
    }
}

/// The reason a decision that ran out of time is denied.
fn late(subject: &str) -> String {
    format!(
        "the daemon did not answer the look-up of {subject} in time ({}s for the whole decision)",
        DECISION_TIME.as_secs()
    )
}

/// Adds what an object the request reaches breaks (a container it enters,
/// a spec a rollback restores) to the request's verdict, each denial
/// prefixed with how the request reaches it.
fn adopt_denials(verdict: &mut Verdict, reached: &Verdict, how: &str) {
    for mut finding in reached.denials().cloned().collect::<Vec<_>>() {
        finding.message = format!("{how} breaks the policy: {}", finding.message);
        verdict.findings.push(finding);
        verdict.decision = dockgate_rules::Decision::Deny;
    }
}

/// Most allowed creates kept waiting for their response call; the daemon
/// sends it at once, so only a burst of concurrent creates fills this.
const PENDING_CREATES: usize = 64;

/// What a request needs before it can be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing: judge it at once.
    Nothing,
    /// Look-ups on the daemon.
    Lookups,
}

impl<L: DaemonLookup> Gate<L> {
    /// A gate with a policy and a daemon to ask.
    pub fn new(policy: Policy, lookup: L) -> Self {
        let metrics = Metrics::new(policy.hash());
        Gate::with_metrics(policy, lookup, metrics)
    }

    /// A gate that counts into `metrics` (shared with the look-ups).
    pub fn with_metrics(policy: Policy, lookup: L, metrics: Arc<Metrics>) -> Self {
        Gate {
            metrics,
            policy: RwLock::new(Arc::new(policy)),
            broken: RwLock::new(None),
            lookup,
            pending_creates: Mutex::new(VecDeque::new()),
            marker: None,
        }
    }

    /// Knows the gate's own look-ups by `marker`, the value they carry in
    /// the header `X-Dockgate-Lookup`.
    pub fn with_marker(mut self, marker: &str) -> Self {
        self.marker = Some(marker.to_string());
        self
    }

    /// The request as a policy in opa-docker-authz's form reads it; none
    /// for what such a policy does not judge: a `HEAD /_ping`, which
    /// opa-docker-authz lets through by default (clients need it to talk
    /// at all), and the gate's own look-ups, which only read.
    fn sent_request(
        &self,
        request: &AuthzRequest,
        read: &ReadRequest,
    ) -> Option<Result<SentRequest, String>> {
        let method = request.method.to_ascii_uppercase();
        let route = read.route.as_ref().map(|m| m.route.name);
        if method == "HEAD" && route == Some("system.ping") {
            return None;
        }
        let marked = self.marker.as_deref().is_some_and(|marker| {
            request
                .header(dockgate_inputs::resolve::LOOKUP_HEADER)
                .is_some_and(|value| constant_time_eq(value.as_bytes(), marker.as_bytes()))
        });
        if marked && matches!(method.as_str(), "GET" | "HEAD") {
            return None;
        }
        Some(sent_request(request, read))
    }

    /// The gate's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// A gate with no valid policy: the file could not be read at start.
    /// Refusing to start would make the daemon refuse everything anyway,
    /// with no reason given, while a service manager restarts the gate in
    /// a loop; serving instead refuses every request but ping and version
    /// (which clients and the daemon need to talk at all) with the error,
    /// until a valid policy is installed.
    pub fn without_policy(error: String, lookup: L, metrics: Arc<Metrics>) -> Self {
        metrics.policy_in_force(false);
        let gate = Gate::with_metrics(Policy::default(), lookup, metrics);
        *gate.broken.write().unwrap_or_else(|e| e.into_inner()) = Some(error);
        gate
    }

    /// Puts a freshly read policy in force, and counts the reload; an
    /// invalid one (the error) leaves the policy in force untouched.
    /// Returns the new policy's hash.
    pub fn install(&self, read: Result<Policy, PolicyError>) -> Result<String, PolicyError> {
        match read {
            Ok(policy) => {
                let hash = policy.hash().to_string();
                self.metrics.reload(Ok(&hash));
                self.replace_policy(policy);
                Ok(hash)
            }
            Err(err) => {
                self.metrics.reload(Err(()));
                Err(err)
            }
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts a new, already validated, policy in force. Requests being
    /// decided keep the policy they started with.
    pub fn replace_policy(&self, policy: Policy) {
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(policy);
        if self
            .broken
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .is_some()
        {
            self.metrics.policy_in_force(true);
        }
    }

    /// Why every request is refused, while no valid policy is in force.
    fn broken(&self) -> Option<String> {
        self.broken
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether a request will need daemon look-ups (decides which
    /// concurrency budget it uses).
    pub fn need(request: &AuthzRequest) -> Need {
        // A TLS caller may have a role that acts only on its own
        // containers: its reads look up their owners. (dockgate's own
        // look-ups carry their marker.)
        let identified = request.user_authn_method.eq_ignore_ascii_case("TLS")
            && request
                .header(dockgate_inputs::resolve::LOOKUP_HEADER)
                .is_none();
        match request.method.to_ascii_uppercase().as_str() {
            // dockgate's own look-ups come back as GETs: they must never
            // wait behind requests that wait on look-ups. The few GETs that
            // do look up (docker cp out, attach) go with the others.
            "GET" | "HEAD" | "OPTIONS" if !reads_existing_container(request) && !identified => {
                Need::Nothing
            }
            _ => Need::Lookups,
        }
    }

    /// Learns from the daemon's answer to a request: a container created
    /// through the gate is remembered under its ID, which spares
    /// the look-ups of the attach and start that follow at once. What is
    /// remembered is the create request that was judged, which is what the
    /// container is: nothing the gate has not already seen.
    pub fn learn(&self, call: &AuthzResponseCall) {
        let judged = {
            let mut pending = self.pending_creates();
            let at = pending
                .iter()
                .rposition(|(request, _)| same_request(request, &call.request));
            at.and_then(|at| pending.remove(at))
        };
        let created = match judged {
            Some((_, workload)) => created_as(call, workload),
            None => created_container(call),
        };
        // Only under its ID: the daemon resolves a reference as a full ID
        // first, then as a name, then as an ID prefix, so a container named
        // after another's full ID (or a prefix of one) is not what that
        // string names. The CLI and Compose start and attach by the ID the
        // create returned; anything else is asked of the daemon.
        if let Some((id, _, container)) = created {
            self.lookup.remember_container(&id, &container);
        }
    }

    /// Decides one request within [`DECISION_TIME`], and counts it.
    pub async fn decide(&self, request: &AuthzRequest) -> (Verdict, AuditRecord) {
        self.decide_by(request, None, Instant::now() + DECISION_TIME)
            .await
    }

    /// Decides a request that came through the `dockgate proxy` socket
    /// of identity `proxy`.
    pub async fn decide_proxied(
        &self,
        request: &AuthzRequest,
        proxy: &str,
    ) -> (Verdict, AuditRecord) {
        self.decide_by(request, Some(proxy), Instant::now() + DECISION_TIME)
            .await
    }

    /// Decides one request, and counts it. Whatever it looks up, the
    /// decision ends by `deadline`: each look-up is bounded by it, and the
    /// whole decision too, so that nothing unbounded hides in between.
    pub async fn decide_by(
        &self,
        request: &AuthzRequest,
        proxy: Option<&str>,
        deadline: Instant,
    ) -> (Verdict, AuditRecord) {
        let started = std::time::Instant::now();
        let mut route = "unknown";
        let deciding = self.decide_uncounted(request, proxy, &mut route, deadline);
        let (verdict, record) = match tokio::time::timeout_at(deadline, deciding).await {
            Ok(decided) => decided,
            Err(_) => {
                let verdict = Verdict::unjudged(late("what the request reaches"));
                let mut record = AuditRecord::begin(request, self.policy().hash());
                if let Ok(read) = read_request(request) {
                    name_in_record(&mut record, &read);
                }
                (verdict.clone(), record.finish(&verdict))
            }
        };
        let decision = if verdict.allowed() { "allow" } else { "deny" };
        // Labelled by route, never by path: paths are the client's to
        // choose, and each new label value would be kept forever.
        self.metrics.decision(
            route,
            decision,
            &verdict.findings,
            started.elapsed().as_secs_f64(),
        );
        (verdict, record)
    }

    async fn decide_uncounted(
        &self,
        request: &AuthzRequest,
        proxy: Option<&str>,
        route: &mut &'static str,
        deadline: Instant,
    ) -> (Verdict, AuditRecord) {
        let policy = self.policy();
        let via_tls = request.user_authn_method.eq_ignore_ascii_case("TLS");
        let mut requester = Requester {
            tls_user: if via_tls {
                request.user.clone()
            } else {
                String::new()
            },
            via_tls,
            proxy: proxy.map(str::to_string),
            request: None,
            reaching: false,
        };
        let mut record = AuditRecord::begin(request, policy.hash());
        if let Some(error) = self.broken() {
            return refuse_without_policy(request, record, route, &error);
        }
        let policy = match policy.for_caller(&requester) {
            Ok(caller) => {
                record.identity = caller.identity;
                caller.policy
            }
            Err(why) => {
                if let Ok(read) = read_request(request) {
                    name_in_record(&mut record, &read);
                }
                let verdict = Verdict::unknown_caller(why);
                let record = record.finish(&verdict);
                return (verdict, record);
            }
        };
        let verdict = match read_request(request) {
            Err(err) => Verdict::unreadable(err.to_string()),
            Ok(mut read) => {
                // Kept aside while a start or an exec is replaced by what
                // it runs: they are what the request acts on.
                let mut targets = std::mem::take(&mut read.workload.targets);
                let create = read
                    .route
                    .as_ref()
                    .is_some_and(|m| m.route.endpoint == Endpoint::ContainerCreate);
                // As read, before look-ups fill it in: what the response
                // call's request reads as.
                let as_read = create.then(|| read.workload.clone());
                name_in_record(&mut record, &read);
                if let Some(matched) = &read.route {
                    *route = matched.route.name;
                }
                // Read before look-ups replace what the request names
                // with what the daemon has.
                let sent = match policy
                    .judges_requests()
                    .then(|| self.sent_request(request, &read))
                    .flatten()
                {
                    Some(Ok(sent)) => Some(sent),
                    Some(Err(why)) => {
                        let verdict = Verdict::unreadable(format!("{}: {why}", record.endpoint));
                        let record = record.finish(&verdict);
                        return (verdict, record);
                    }
                    None => None,
                };
                if let Some(id) = read.starts_exec.clone() {
                    match Box::pin(self.stored_exec(deadline, &id, &read.workload)).await {
                        Ok(Some(exec)) => {
                            read.enters_existing = exec.name.clone();
                            read.workload = exec;
                        }
                        // The daemon answers "no such exec instance".
                        Ok(None) => {}
                        Err(why) => {
                            let verdict = Verdict::unjudged(why);
                            let record = record.finish(&verdict);
                            return (verdict, record);
                        }
                    }
                }
                let applies_start_body = read.workload.operation == Operation::Container;
                // The container a start starts as it is stored.
                let mut stored_start = None;
                if let Some(name) = read.starts_existing.clone().filter(|_| !applies_start_body) {
                    // Boxed, like every look-up below: their state would
                    // otherwise make every decision's future several KiB,
                    // copied on each spawn even for a GET that never looks up.
                    match Box::pin(self.existing(deadline, &name, &read.workload)).await {
                        Ok(Some(existing)) => {
                            // Its network join is looked up again now.
                            targets.extend(dockgate_inputs::authz::namespace_joins(&existing));
                            read.workload = existing;
                            stored_start = Some(name.clone());
                        }
                        // The daemon answers "no such container".
                        Ok(None) => {}
                        Err(why) => {
                            let verdict = Verdict::unjudged(why);
                            record.container = Some(name);
                            let record = record.finish(&verdict);
                            return (verdict, record);
                        }
                    }
                }
                let workload = &mut read.workload;
                let needs_lookup = read.mutating
                    && matches!(
                        workload.operation,
                        Operation::Container
                            | Operation::Exec
                            | Operation::Service
                            | Operation::Volume
                            | Operation::Network
                    );
                if needs_lookup {
                    let what = "what the request names";
                    if let Err(why) = Box::pin(self.resolve_by(deadline, what, workload)).await {
                        let verdict = Verdict::unjudged(why);
                        record.container = workload.name.clone();
                        let record = record.finish(&verdict);
                        return (verdict, record);
                    }
                }
                if policy.judges_owners() {
                    let exec = read.route.as_ref().filter(|m| {
                        m.route.name.starts_with("exec.") && m.route.name != "exec.create"
                    });
                    let container = match exec.and_then(|m| m.vars.first()) {
                        // An exec start's instance was looked up above.
                        Some(_) if read.starts_exec.is_some() => read.enters_existing.clone(),
                        Some(id) => {
                            match Box::pin(self.stored_exec(deadline, id, workload)).await {
                                Ok(found) => found.and_then(|exec| exec.name),
                                Err(why) => {
                                    let verdict = Verdict::unjudged(why);
                                    let record = record.finish(&verdict);
                                    return (verdict, record);
                                }
                            }
                        }
                        None => None,
                    };
                    // None: the daemon answers "no such exec instance".
                    targets.extend(container.map(|c| At::new(Target::named(c, "exec"), "path")));
                    Box::pin(self.owners_of(&policy, deadline, &mut targets)).await;
                }
                workload.targets = targets;
                record.container = workload.name.clone();
                record.image = workload.image.as_ref().map(|i| i.value.clone());
                requester.request = sent.map(Arc::new);
                let mut verdict = evaluate(&policy, workload, &requester);
                // What the request reaches (a container it execs into, say)
                // is judged as that object, not as this request.
                let reached_by = Requester {
                    reaching: true,
                    ..requester.clone()
                };
                // The policy in opa-docker-authz's form judged the start
                // request; it judges the container started as the create
                // request that made it, too, as it would a container
                // created before the policy (the built-in rules have
                // judged the stored container already).
                if let Some(name) = stored_start {
                    let stored = evaluate_request_rule(&policy, workload, &reached_by);
                    let how = format!("start container {name:?}, which");
                    adopt_denials(&mut verdict, &stored, &how);
                }
                let judge = Judge {
                    policy: &policy,
                    requester: &reached_by,
                    deadline,
                };
                // A HostConfig given at start is applied on top of the stored
                // container, which keeps its mounts: both are judged.
                let reached = read
                    .enters_existing
                    .as_ref()
                    .or(read.starts_existing.as_ref().filter(|_| applies_start_body));
                if let Some(name) = reached {
                    let reach = match (
                        workload.operation,
                        read.route.as_ref().map(|m| m.route.name),
                    ) {
                        (Operation::Exec, _) => "exec into",
                        (_, Some("container.start")) => "start",
                        (_, Some("container.update")) => "set a restart policy on",
                        (_, Some("container.copy")) => "copy files out of",
                        (_, Some("container.rename")) => "rename",
                        (_, Some("container.attach" | "container.attach-ws")) => "attach to",
                        _ => "copy files in or out of",
                    };
                    Box::pin(self.judge_target(&judge, name, reach, &mut verdict)).await;
                }
                if let Some((id, rollback)) = &read.updates_service {
                    Box::pin(self.judge_stored_service(&judge, id, *rollback, &mut verdict)).await;
                }
                // --pid container:X: the new container's processes see X's
                // through /proc, mounts included.
                if let Some(target) = pid_join(workload) {
                    let reach = "join the PID namespace of";
                    Box::pin(self.judge_target(&judge, &target, reach, &mut verdict)).await;
                }
                if let Some(workload) = as_read.filter(|_| verdict.allowed()) {
                    self.await_response(request, workload);
                }
                verdict
            }
        };
        let record = record.finish(&verdict);
        (verdict, record)
    }

    /// Keeps an allowed create until its response call comes.
    fn await_response(&self, request: &AuthzRequest, workload: Workload) {
        let mut pending = self.pending_creates();
        if pending.len() >= PENDING_CREATES {
            pending.pop_front();
        }
        pending.push_back((request.as_read(), workload));
    }

    fn pending_creates(&self) -> std::sync::MutexGuard<'_, VecDeque<(AuthzRequest, Workload)>> {
        self.pending_creates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// An exec session, a copy in or out (`docker cp`) or an attached
    /// console gets what its container has: exec into a privileged container
    /// (one running since before the gate, say) is root on the host whatever
    /// the exec asks, and a copy into a container that binds the host's
    /// `/etc` writes to the host's `/etc`, even while it is stopped. So the
    /// container's own deny-level findings deny the request too.
    ///
    /// A container that shares its PID namespace with another
    /// (`--pid container:X`) reaches X's whole mount namespace through
    /// `/proc/<pid>/root`, so X is judged the same way, along the chain.
    async fn judge_target(
        &self,
        judge: &Judge<'_>,
        name: &str,
        reach: &str,
        verdict: &mut Verdict,
    ) {
        let mut next = Some((name.to_string(), reach.to_string()));
        for _ in 0..=PID_JOINS_FOLLOWED {
            let Some((name, reach)) = next.take() else {
                return;
            };
            let Some(container) = self.judge_one(judge, &name, &reach, verdict).await else {
                return;
            };
            // Containers that joined its PID namespace reach it, and it
            // reaches them: the API names only the one a container joined,
            // so the host's processes tell the rest.
            let subject = format!("the PID namespace of {name:?}");
            let peers = look_up(
                judge.deadline,
                &subject,
                "",
                self.lookup.pid_namespace_peers(&name),
            )
            .await;
            match peers {
                Ok(peers) => {
                    let shared =
                        format!("{reach} container {name:?}, which shares its PID namespace with");
                    for peer in peers.into_iter().flatten() {
                        self.judge_one(judge, &peer, &shared, verdict).await;
                    }
                }
                Err(why) => {
                    *verdict = Verdict::unjudged(why);
                    return;
                }
            }
            next = pid_join(&container).map(|target| {
                (
                    target,
                    format!("{reach} container {name:?}, which shares the PID namespace of"),
                )
            });
        }
        if let Some((name, _)) = next {
            *verdict = Verdict::unjudged(format!(
                "container {name:?}: more than {PID_JOINS_FOLLOWED} nested --pid container: joins"
            ));
        }
    }

    /// Judges one container a request reaches; returns it, resolved.
    async fn judge_one(
        &self,
        judge: &Judge<'_>,
        name: &str,
        reach: &str,
        verdict: &mut Verdict,
    ) -> Option<Workload> {
        let subject = format!("container {name:?}");
        let purpose = format!(" to {reach}");
        let asked = self.lookup.container(name);
        let mut container = match look_up(judge.deadline, &subject, &purpose, asked).await {
            Ok(Some(container)) => container,
            // No such container: the daemon refuses the request itself.
            Ok(None) => return None,
            Err(why) => {
                *verdict = Verdict::unjudged(why);
                return None;
            }
        };
        let what = format!("what {subject} has");
        if let Err(why) = self.resolve_by(judge.deadline, &what, &mut container).await {
            *verdict = Verdict::unjudged(why);
            return None;
        }
        let target = evaluate(judge.policy, &container, judge.requester);
        adopt_denials(
            verdict,
            &target,
            &format!("{reach} container {name:?}, which"),
        );
        Some(container)
    }

    /// A service update is judged by the specs the service has stored: its
    /// current spec, which becomes the one a failed update rolls back to,
    /// and for `rollback=previous` the previous spec the daemon restores.
    async fn judge_stored_service(
        &self,
        judge: &Judge<'_>,
        id: &str,
        rollback: bool,
        verdict: &mut Verdict,
    ) {
        let subject = format!("service {id:?}");
        let asked = self.lookup.service(id);
        let specs = match look_up(judge.deadline, &subject, "", asked).await {
            Ok(Some(specs)) => specs,
            // No such service: the daemon refuses the update itself.
            Ok(None) => return,
            Err(why) => {
                *verdict = Verdict::unjudged(why);
                return;
            }
        };
        let mut stored = vec![(
            specs.current,
            format!("update service {id:?}, whose current spec"),
        )];
        // With nothing to go back to, the daemon refuses the rollback.
        if let Some(previous) = specs.previous.filter(|_| rollback) {
            stored.push((previous, format!("roll service {id:?} back to a spec that")));
        }
        for (spec, how) in stored {
            let mut service = match dockgate_inputs::api_body::service_spec(&spec) {
                Ok(service) => service,
                Err(err) => {
                    *verdict = Verdict::unjudged(format!("{how} cannot be read: {err}"));
                    return;
                }
            };
            let what = format!("what {subject} has");
            if let Err(why) = self.resolve_by(judge.deadline, &what, &mut service).await {
                *verdict = Verdict::unjudged(why);
                return;
            }
            let stored = evaluate(judge.policy, &service, judge.requester);
            adopt_denials(verdict, &stored, &how);
        }
    }

    /// Fills in what a workload's references name (`what`, for the
    /// reason to deny) by the deadline.
    async fn resolve_by(
        &self,
        deadline: Instant,
        what: &str,
        workload: &mut Workload,
    ) -> Result<(), String> {
        tokio::time::timeout_at(deadline, resolve(workload, &self.lookup))
            .await
            .map_err(|_| late(what))
    }

    /// Looks up the owners of the containers a request acts on: their
    /// labels, as the daemon resolves each reference (full ID, then name,
    /// then unique ID prefix).
    async fn owners_of(&self, policy: &Policy, deadline: Instant, targets: &mut [At<Target>]) {
        for target in targets {
            if target.value.labels != Resolution::Pending {
                continue;
            }
            let subject = format!("container {:?}", target.value.reference);
            let asked = self.lookup.container(&target.value.reference);
            target.value.labels =
                match look_up(deadline, &subject, " to tell its owner", asked).await {
                    Ok(Some(container)) => {
                        // Found by its name, which a rename moves: a name
                        // of hex digits that starts another container's ID
                        // then names that one.
                        let reference = target.value.reference.clone();
                        let by_name = container.name.as_deref() == Some(reference.as_str())
                            && reference.bytes().all(|b| b.is_ascii_hexdigit());
                        if by_name {
                            let asked = self.lookup.containers_with_id_prefix(&reference);
                            match look_up(deadline, &subject, " by ID prefix", asked).await {
                                // Another's container would be reached.
                                Ok(found) => {
                                    target.value.ambiguous = found.iter().any(|(name, labels)| {
                                        *name != reference && !policy.owns(labels)
                                    });
                                }
                                Err(why) => {
                                    target.value.labels = Resolution::Failed(why);
                                    continue;
                                }
                            }
                        }
                        Resolution::Known(Some(
                            container.labels.into_iter().map(|l| l.value).collect(),
                        ))
                    }
                    Ok(None) => Resolution::Known(None),
                    Err(why) => Resolution::Failed(why),
                };
        }
    }

    /// The exec instance an exec start runs, as it was created.
    async fn stored_exec(
        &self,
        deadline: Instant,
        id: &str,
        request: &Workload,
    ) -> Result<Option<Workload>, String> {
        let subject = format!("exec instance {id:?}");
        let found = look_up(deadline, &subject, " to start", self.lookup.exec(id)).await?;
        Ok(found.map(|mut exec| {
            exec.call = request.call.clone();
            exec
        }))
    }

    /// The container a start request starts, as the daemon describes it.
    async fn existing(
        &self,
        deadline: Instant,
        name: &str,
        request: &Workload,
    ) -> Result<Option<Workload>, String> {
        let subject = format!("container {name:?}");
        let found = look_up(deadline, &subject, " to start", self.lookup.container(name)).await?;
        Ok(found.map(|mut existing| {
            existing.call = request.call.clone();
            existing.name = Some(name.to_string());
            existing
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockgate_inputs::resolve::FakeDaemon;

    /// Knows no container; every image runs as a non-root user.
    fn daemon() -> FakeDaemon {
        FakeDaemon::new().any_image("1000")
    }

    fn answered(request: &AuthzRequest, id: &str) -> AuthzResponseCall {
        AuthzResponseCall {
            request: request.clone(),
            status: 201,
            body: Some(format!(r#"{{"Id":"{id}","Warnings":[]}}"#).into_bytes()),
        }
    }

    #[tokio::test]
    async fn a_judged_create_is_learned_without_reading_it_again() {
        let gate = Gate::new(Policy::default(), daemon());
        let create = AuthzRequest::new(
            "POST",
            "/v1.41/containers/create?name=web",
            Some(br#"{"Image":"testimg","HostConfig":{"Binds":["data:/data"]}}"#),
        );
        let (verdict, _) = gate.decide(&create).await;
        assert!(verdict.allowed(), "{verdict:?}");
        assert_eq!(gate.pending_creates.lock().unwrap().len(), 1);

        let id = "4f2c".repeat(16);
        gate.learn(&answered(&create, &id));
        assert!(gate.pending_creates.lock().unwrap().is_empty());
        let remembered = gate.lookup.remembered();
        // Under the ID alone: the name could be another container's ID.
        let names: Vec<&str> = remembered.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, [id.as_str()]);
        // The same as reading the response call's request afresh.
        let (_, _, read) = created_container(&answered(&create, &id)).unwrap();
        assert_eq!(remembered[0].1, read);
    }

    #[tokio::test]
    async fn only_the_same_request_is_taken_for_a_judged_one() {
        let gate = Gate::new(Policy::default(), daemon());
        let judged = AuthzRequest::new(
            "POST",
            "/v1.41/containers/create",
            Some(br#"{"Image":"testimg"}"#),
        );
        assert!(gate.decide(&judged).await.0.allowed());
        // Another body under the same path: read for itself, and the
        // judged create stays pending.
        let other = AuthzRequest::new(
            "POST",
            "/v1.41/containers/create",
            Some(br#"{"Image":"testimg","HostConfig":{"Privileged":true}}"#),
        );
        let id = "a1b2".repeat(16);
        gate.learn(&answered(&other, &id));
        assert_eq!(gate.pending_creates.lock().unwrap().len(), 1);
        let remembered = gate.lookup.remembered();
        assert_eq!(remembered.len(), 1);
        assert_eq!(
            remembered[0].1.privileged.as_ref().map(|p| p.value),
            Some(true)
        );
        // A denied create is never kept.
        let (verdict, _) = gate.decide(&other).await;
        assert!(!verdict.allowed());
        assert_eq!(gate.pending_creates.lock().unwrap().len(), 1);
    }
}
