//! The authorization matrix of issue 10, generated from the protocol: every operation kind
//! (`authz::samples`) × every field that names a lead, office, partner, author or action
//! (`authz::forgeable`) × four forging actors — another office's rep, a rep acting as a
//! manager, a revoked token, the website's intake key — pushed to a real HTTPS server. Each
//! forgery must be refused with its expected code, and beside it the same operation pushed
//! legitimately must be applied, so a server that refuses everything fails too. The read
//! endpoints, the device endpoints, the intake and the public unsubscribe endpoint get the same
//! four actors. Kinds only a manager may push (`authz::required_role`: cadences and their intake
//! rules) are forged by the other office's manager, and a rep pushing one is refused
//! `forbidden_role`; their baseline is pushed by the office's manager. The role matrix pushes
//! every operation kind as every role and as a manager of two offices (`authz::CaseActor`) on
//! leads of offices A, B and C and of no office. The tests print the case counts.

use crate::support;

use chrono::Utc;
use reqwest::StatusCode;
use support::*;
use switchboard_protocol::authz::{self, CaseActor, Forgeable, Names, Origin, SampleContext};
use switchboard_protocol::*;
use switchboard_server::{admin, roles};
use switchboard_test_support::{ApiClient, TestOptions};

/// Who forges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forger {
    /// rep_b (office B) reaching into office A.
    OtherOfficeRep,
    /// rep_a claiming what only a manager or admin could.
    RepAsManager,
    /// rep_r of office A with a token revoked by logging out.
    RevokedToken,
    /// The website's intake key used as a user's token.
    IntakeKey,
}

const FORGERS: [Forger; 4] = [
    Forger::OtherOfficeRep,
    Forger::RepAsManager,
    Forger::RevokedToken,
    Forger::IntakeKey,
];

/// The world of `support::World` plus what forgers need.
struct Matrix {
    w: World,
    /// rep_r's live token and its revoked one.
    rep_r: ApiClient,
    revoked: Secret,
    intake: Secret,
    /// A lead of office A, one of office B, one of no office (admins only).
    lead_a: String,
    lead_b: String,
    unassigned: String,
    partner: Partner,
}

/// Whether only a manager (or admin) may push operations of this kind.
fn needs_manager(op: &Op) -> bool {
    authz::required_role(op) == Role::Manager
}

/// The cadence each office's manager saved at the start (samples of enrolments and rules use it).
fn cadence_of(office: &str) -> String {
    format!("cadence-{}", office.to_ascii_lowercase())
}

/// How the server answered a push: per-operation results, or a refusal of the whole request.
enum Answer {
    Results(PushResponse),
    Refused(StatusCode, Option<ErrorBody>),
}

async fn push_with(m: &Matrix, token: &str, replica: &str, ops: Vec<PushOp>) -> Answer {
    let r =
        m.w.server
            .http()
            .post(format!("{}/v1/push", m.w.server.url))
            .bearer_auth(token)
            .json(&PushRequest {
                replica_id: replica.into(),
                ops,
            })
            .send()
            .await
            .expect("push reaches the server");
    let status = r.status();
    if status.is_success() {
        Answer::Results(r.json().await.expect("a push response"))
    } else {
        Answer::Refused(status, r.json().await.ok())
    }
}

impl Matrix {
    async fn start(options: TestOptions) -> Matrix {
        let w = World::start(options).await;
        w.server
            .add_user("rep_r", Role::Rep, Some("A"), PASSWORD)
            .await
            .unwrap();
        let doomed = w.server.login("rep_r", PASSWORD).await.unwrap();
        let r = w
            .server
            .http()
            .post(format!("{}/v1/logout", w.server.url))
            .bearer_auth(doomed.token.expose())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let rep_r = w.server.login("rep_r", PASSWORD).await.unwrap();
        let intake = w.server.intake_key().await.unwrap();
        let lead_a = new_lead(&w.rep_a, "setup-a", 1, "Ada", "ada@example.com").await;
        let lead_b = new_lead(&w.rep_b, "setup-b", 1, "Bea", "bea@example.com").await;
        let unassigned = new_lead(&w.admin, "setup-admin", 1, "Una", "una@example.com").await;
        let partner = Partner {
            id: "partner-nordic".into(),
            name: "Nordic Resale".into(),
            kind: PartnerKind::Reseller,
            country: "NO".into(),
            basis: TransferBasis::NoneNeeded,
            fields: vec![ShareField::Name, ShareField::Email],
            created_at: t0(),
            created_by: "admin".into(),
        };
        let p = partner.clone();
        w.server
            .admin(move |tx| admin::add_partner(tx, &p))
            .await
            .unwrap();
        for (manager, user, office) in [(&w.mgr_a, "mgr_a", "A"), (&w.mgr_b, "mgr_b", "B")] {
            let saved = Op::CadenceSaved(CadenceSaved {
                cadence_id: cadence_of(office),
                name: format!("Office {office} trial"),
                version: 1,
                steps: vec![CadenceStep::Email {
                    template: "intro".into(),
                }],
                created_at: t0(),
                created_by: user.into(),
            });
            let r = manager
                .push(&format!("setup-{user}"), numbered(vec![saved]))
                .await
                .unwrap();
            assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
        }
        Matrix {
            w,
            rep_r,
            revoked: doomed.token,
            intake,
            lead_a,
            lead_b,
            unassigned,
            partner,
        }
    }

    /// The client whose own, legitimate operations a forger's case starts from (for a kind
    /// only managers push, the other office's forger is that office's manager).
    fn legit(
        &self,
        forger: Forger,
        manager_kind: bool,
    ) -> (&ApiClient, &'static str, &'static str) {
        match forger {
            Forger::OtherOfficeRep if manager_kind => (&self.w.mgr_b, "mgr_b", "B"),
            Forger::OtherOfficeRep => (&self.w.rep_b, "rep_b", "B"),
            Forger::RepAsManager | Forger::IntakeKey => (&self.w.rep_a, "rep_a", "A"),
            Forger::RevokedToken => (&self.rep_r, "rep_r", "A"),
        }
    }

    /// Who pushes the unforged operation as its rightful author: the forger's own client, or
    /// for a kind only managers push, the manager of the forger's office.
    fn rightful(
        &self,
        forger: Forger,
        manager_kind: bool,
    ) -> (&ApiClient, &'static str, &'static str) {
        let (client, user, office) = self.legit(forger, manager_kind);
        match (manager_kind, office) {
            (false, _) => (client, user, office),
            (true, "A") => (&self.w.mgr_a, "mgr_a", "A"),
            (true, _) => (&self.w.mgr_b, "mgr_b", "B"),
        }
    }

    /// The credential the forger pushes with.
    fn credential(&self, forger: Forger, manager_kind: bool) -> String {
        match forger {
            Forger::OtherOfficeRep if manager_kind => self.w.mgr_b.token.expose().to_string(),
            Forger::OtherOfficeRep => self.w.rep_b.token.expose().to_string(),
            Forger::RepAsManager => self.w.rep_a.token.expose().to_string(),
            Forger::RevokedToken => self.revoked.expose().to_string(),
            Forger::IntakeKey => self.intake.expose().to_string(),
        }
    }

    /// The unsubscribe key a client received at sign-in: (key id, key bytes).
    fn unsubscribe_key_of(&self, client: &ApiClient) -> (String, Vec<u8>) {
        let key = client
            .login
            .unsubscribe
            .as_ref()
            .expect("an office account gets an unsubscribe key");
        (key.key_id.clone(), hex::decode(key.key.expose()).unwrap())
    }

    /// The key a forger makes unsubscribe tokens with: its own office's (a revoked token's
    /// account had the same), or for the website the intake key under a real key id.
    fn unsubscribe_key(&self, forger: Forger) -> (String, Vec<u8>) {
        match forger {
            Forger::IntakeKey => (
                self.unsubscribe_key_of(&self.w.rep_a).0,
                self.intake.expose().as_bytes().to_vec(),
            ),
            _ => self.unsubscribe_key_of(self.legit(forger, false).0),
        }
    }

    /// What the forger writes into a field naming `names`.
    fn forged_value(&self, forger: Forger, f: &Forgeable) -> Option<String> {
        let reaching_into_other_office = forger != Forger::RepAsManager;
        let (_, _, own_office) = self.legit(forger, false);
        let (other_office, other_lead, other_user) = if own_office == "A" {
            ("B", &self.lead_b, "rep_b")
        } else {
            ("A", &self.lead_a, "rep_a")
        };
        Some(match (f.names, f.path) {
            (Names::Lead, _) if reaching_into_other_office => other_lead.clone(),
            // A lead no office holds: only an admin may touch it.
            (Names::Lead, _) => self.unassigned.clone(),
            (Names::Office, _) if reaching_into_other_office => other_office.into(),
            // Taking a lead out of every office is an admin's move.
            (Names::Office, _) => return None,
            (Names::Partner, "partner_name") => "Forged Partner Ltd".into(),
            (Names::Partner, _) => "partner-never-registered".into(),
            (Names::Author, _) if reaching_into_other_office => other_user.into(),
            (Names::Author, _) => format!("mgr_{}", own_office.to_ascii_lowercase()),
            (Names::Action, _) => "role_change".into(),
        })
    }
}

/// The code a forgery must be refused with.
fn expected_code(forger: Forger, op: &Op, f: &Forgeable) -> &'static str {
    match forger {
        Forger::RevokedToken | Forger::IntakeKey => "unauthorized",
        _ if authz::origin(op) == Origin::Server => "server_only",
        Forger::RepAsManager if needs_manager(op) => "forbidden_role",
        _ => match f.names {
            Names::Lead | Names::Office => "forbidden_office",
            Names::Partner => "unknown_partner",
            Names::Author => "forged_author",
            Names::Action => "server_only",
        },
    }
}

/// A fresh lead of `client`'s office with an open request, and the samples `user` would push
/// about it under `replica_id`.
async fn fresh_samples(
    m: &Matrix,
    (client, user, office): (&ApiClient, &str, &str),
    case: usize,
    replica_id: &str,
) -> Vec<Op> {
    let replica = format!("{replica_id}-setup");
    let lead = new_lead(
        client,
        &replica,
        1,
        "Case Person",
        &format!("case{case}@example.com"),
    )
    .await;
    let request = id("request");
    let opened = Op::RequestOpened(SubscriberRequest {
        id: request.clone(),
        lead_id: lead.clone(),
        kind: RequestKind::Erase,
        received_at: t0(),
        due_at: t0() + chrono::Duration::days(30),
        status: RequestStatus::Open,
        detail: None,
        handled_by: None,
        handled_at: None,
    });
    let r = client
        .push(&replica, numbered_from(3, vec![opened]))
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    authz::samples(&SampleContext {
        user: user.into(),
        office: office.into(),
        lead_id: lead,
        new_lead_id: id("new-lead"),
        request_id: request,
        partner_id: m.partner.id.clone(),
        partner_name: m.partner.name.clone(),
        suffix: format!("case{case}-{}", id("s")),
        at: t0(),
        hlc: hlc(Utc::now(), 0, &format!("case{case}")),
        cadence_id: cadence_of(office),
        replica_id: replica_id.into(),
    })
}

async fn matrix(options: TestOptions) {
    let m = Matrix::start(options).await;
    let mut cases = 0;
    let mut refused = 0;
    let mut baselines = 0;
    // Which kinds and fields there are; each case fills in its own values.
    let kinds = authz::samples(&SampleContext::default());
    for (k, kind) in kinds.iter().enumerate() {
        for f in authz::forgeable(kind) {
            for forger in FORGERS {
                cases += 1;
                let manager_kind = needs_manager(kind);
                let forger_replica = format!("case-{cases}-forger");
                let legit_replica = format!("case-{cases}-legit");
                let samples =
                    fresh_samples(&m, m.legit(forger, manager_kind), cases, &forger_replica).await;
                let sample = &samples[k];
                assert_eq!(sample.kind(), kind.kind());
                let forged_value = m.forged_value(forger, &f);
                let forged = authz::with_field(sample, f.path, forged_value.as_deref());
                assert_ne!(&forged, sample, "{} {} is forged", kind.kind(), f.path);
                let label = format!(
                    "{} {} by {forger:?} = {forged_value:?}",
                    kind.kind(),
                    f.path
                );
                let expected = expected_code(forger, sample, &f);

                let answer = push_with(
                    &m,
                    &m.credential(forger, manager_kind),
                    &forger_replica,
                    numbered(vec![forged]),
                )
                .await;
                let code = match answer {
                    Answer::Results(r) => {
                        assert_eq!(r.results[0].status, PushStatus::Rejected, "{label}: {r:?}");
                        r.results[0].code.clone()
                    }
                    Answer::Refused(status, body) => {
                        assert_eq!(status, StatusCode::UNAUTHORIZED, "{label}");
                        body.map(|b| b.code)
                    }
                };
                assert_eq!(code.as_deref(), Some(expected), "{label}");
                refused += 1;

                // The same operation, unforged, from its rightful author is applied (the
                // server-only kinds have no rightful pusher: the admin is refused too).
                let rightful = m.rightful(forger, manager_kind);
                let sample = &fresh_samples(&m, rightful, cases, &legit_replica).await[k];
                let baseline = rightful
                    .0
                    .push(&legit_replica, numbered(vec![sample.clone()]))
                    .await
                    .unwrap();
                if authz::carries_out(sample, Some(RequestKind::Erase)).is_some() {
                    // A rep records requests; carrying one out is for other roles (the role
                    // matrix below applies it for them).
                    assert_eq!(
                        baseline.results[0].code.as_deref(),
                        Some("role_required"),
                        "{label}: the rep's push: {baseline:?}"
                    );
                } else if authz::origin(sample) == Origin::Replica {
                    assert_eq!(
                        baseline.results[0].status,
                        PushStatus::Applied,
                        "{label}: the legitimate push: {baseline:?}"
                    );
                    assert_eq!(baseline.results[0].code, None, "{label}: {baseline:?}");
                    baselines += 1;
                } else {
                    let by_admin =
                        m.w.admin
                            .push(
                                &format!("case-{cases}-admin"),
                                numbered(vec![sample.clone()]),
                            )
                            .await
                            .unwrap();
                    assert_eq!(
                        by_admin.results[0].code.as_deref(),
                        Some("server_only"),
                        "{label}"
                    );
                }
            }
        }
    }
    let push_cases = cases;
    let (endpoint_cases, endpoint_baselines) = endpoints(&m).await;
    cases += endpoint_cases;
    refused += endpoint_cases;
    baselines += endpoint_baselines;
    println!(
        "authorization matrix: {cases} cases, {refused} refused \
         ({push_cases} forged operations, {endpoint_cases} endpoint calls; \
         {baselines} legitimate baselines applied)"
    );
    assert_eq!(cases, refused);
    // 14 kinds with 28 identity-bearing fields between them, × 4 forgers.
    assert!(push_cases >= 112, "{push_cases}");
}

/// A GET as `token`: status and body.
async fn get(m: &Matrix, token: &str, path: &str) -> (StatusCode, String) {
    let r =
        m.w.server
            .http()
            .get(format!("{}{path}", m.w.server.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

fn error_code(body: &str) -> Option<String> {
    serde_json::from_str::<ErrorBody>(body).ok().map(|b| b.code)
}

/// The read endpoints and the intake, per forger: refused (or, for the change feed, the
/// forbidden lead absent), each beside its legitimate baseline. Returns the cases and baselines.
async fn endpoints(m: &Matrix) -> (usize, usize) {
    let (mut cases, mut baselines) = (0, 0);
    let registration = |n: usize| IntakeRegistration {
        submission_id: id(&format!("endpoint-{n}")),
        kind: RegistrationKind::Trial,
        product: None,
        submitted_at: t0(),
        details: switchboard_protocol::RegistrationDetails {
            name: Some("Web Person".into()),
            company: None,
            email: Some(format!("web{n}@example.com")),
            phone: None,
            address: None,
            country: Some("DE".into()),
            ip: None,
            user_agent: None,
            referrer: None,
            pages_visited: vec![],
            form_version: None,
        },
    };
    for forger in FORGERS {
        let token = m.credential(forger, false);
        let (legit, _, own_office) = m.legit(forger, false);
        let own_lead = if own_office == "A" {
            &m.lead_a
        } else {
            &m.lead_b
        };
        // The lead the forger reaches for, and what an authenticated refusal looks like.
        let target = match forger {
            Forger::RepAsManager => &m.unassigned,
            _ if own_office == "A" => &m.lead_b,
            _ => &m.lead_a,
        };
        let authenticated = matches!(forger, Forger::OtherOfficeRep | Forger::RepAsManager);
        let denied = |status: StatusCode, body: &str, forbidden: StatusCode, code: &str| {
            if authenticated {
                assert_eq!(status, forbidden, "{forger:?}: {body}");
                assert_eq!(error_code(body).as_deref(), Some(code), "{forger:?}");
            } else {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{forger:?}: {body}");
                assert_eq!(error_code(body).as_deref(), Some("unauthorized"));
            }
        };

        // GET /v1/leads/{id}
        let (status, body) = get(m, &token, &format!("/v1/leads/{target}")).await;
        denied(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, _) = get(m, legit.token.expose(), &format!("/v1/leads/{own_lead}")).await;
        assert_eq!(status, StatusCode::OK, "{forger:?} baseline lead");
        cases += 1;
        baselines += 1;

        // GET /v1/changes: an authenticated forger gets a feed without the lead.
        let (status, body) = get(m, &token, "/v1/changes?after=0&limit=5000").await;
        if authenticated {
            assert_eq!(status, StatusCode::OK, "{forger:?}");
            let page: ChangesPage = serde_json::from_str(&body).unwrap();
            assert!(
                page.changes.iter().all(|c| c.op.lead_id() != Some(target)),
                "{forger:?} pulled {target}"
            );
        } else {
            denied(status, &body, StatusCode::FORBIDDEN, "forbidden");
        }
        let own = everything(legit).await;
        assert!(mentions(&own, own_lead), "{forger:?} baseline pull");
        cases += 1;
        baselines += 1;

        // GET /v1/changes/live: a stream for whoever the pull serves (it announces what the
        // pull would hand out: tests/sync_live.rs), refused as the pull is otherwise. The
        // stream never ends, so only its status is read.
        let live = |t: String| {
            m.w.server
                .http()
                .get(format!("{}/v1/changes/live?after=0", m.w.server.url))
                .bearer_auth(t)
                .send()
        };
        let answer = live(token.clone()).await.unwrap();
        if authenticated {
            assert_eq!(answer.status(), StatusCode::OK, "{forger:?} live");
        } else {
            let status = answer.status();
            denied(
                status,
                &answer.text().await.unwrap(),
                StatusCode::FORBIDDEN,
                "forbidden",
            );
        }
        let answer = live(legit.token.expose().to_string()).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{forger:?} baseline live");
        drop(answer);
        cases += 1;
        baselines += 1;

        // GET /v1/follow-ups: a manager's and an admin's, never a rep's.
        let (status, body) = get(m, &token, "/v1/follow-ups").await;
        denied(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let manager = if own_office == "A" {
            &m.w.mgr_a
        } else {
            &m.w.mgr_b
        };
        let (status, _) = get(m, manager.token.expose(), "/v1/follow-ups").await;
        assert_eq!(status, StatusCode::OK, "{forger:?} baseline history");
        cases += 1;
        baselines += 1;

        // POST /v1/registrations: the intake key only; a user's token is refused.
        let post = |credential: String, n: usize| {
            let http = m.w.server.http();
            let url = format!("{}/v1/registrations", m.w.server.url);
            let body = registration(n);
            async move {
                http.post(url)
                    .bearer_auth(credential)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let forging_credential = match forger {
            // The intake key is the rightful caller here; its forgery is a user token.
            Forger::IntakeKey => m.w.rep_a.token.expose().to_string(),
            _ => token.clone(),
        };
        let r = post(forging_credential, cases).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{forger:?} intake");
        let body = r.text().await.unwrap();
        assert_eq!(error_code(&body).as_deref(), Some("unauthorized"));
        let r = post(m.intake.expose().to_string(), cases).await;
        assert_eq!(r.status(), StatusCode::OK, "{forger:?} baseline intake");
        let accepted: IntakeResponse = r.json().await.unwrap();
        assert_eq!(accepted.status, IntakeStatus::Accepted);
        cases += 1;
        baselines += 1;

        // POST /v1/unsubscribe/{token}: a token made with the key the forger holds (its own
        // office's; the intake key standing in for one) for the lead it reaches for opts
        // nobody out, and answers the page a good token gets.
        let (key_id, key) = m.unsubscribe_key(forger);
        let forged = switchboard_domain::unsubscribe::make(&key_id, &key, target).unwrap();
        let opted_out = |ops: &[Op]| unsubscribed(ops).iter().filter(|l| **l == target).count();
        let before = opted_out(&everything(&m.w.admin).await);
        let forged_page = one_click(m, &forged).await;
        // (Another forger's baseline may have opted the same lead out rightly before.)
        let after = opted_out(&everything(&m.w.admin).await);
        assert_eq!(after, before, "{forger:?} opted out {target}");
        let own = m.unsubscribe_key_of(legit);
        let good = switchboard_domain::unsubscribe::make(&own.0, &own.1, own_lead).unwrap();
        assert_eq!(one_click(m, &good).await, forged_page, "{forger:?}");
        assert!(
            unsubscribed(&everything(legit).await).contains(&own_lead.as_str()),
            "{forger:?} baseline unsubscribe"
        );
        cases += 1;
        baselines += 1;
        // GET /v1/devices: a manager's (their office) and an admin's, never a rep's.
        let (status, body) = get(m, &token, "/v1/devices").await;
        denied(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = get(m, manager.token.expose(), "/v1/devices").await;
        assert_eq!(status, StatusCode::OK, "{forger:?} baseline devices");
        let listed: Vec<Device> = serde_json::from_str(&body).unwrap();
        assert!(
            listed
                .iter()
                .all(|d| d.office.as_deref() == Some(own_office)),
            "{forger:?}: a manager lists another office's devices"
        );
        cases += 1;
        baselines += 1;

        // POST /v1/devices/{id}/revoke: a device of the office the forger reaches for (the
        // other office's rep: a device there; a rep acting as manager: one of their own
        // office) is refused; the rightful manager revokes it.
        let victim_office = if forger == Forger::RepAsManager {
            own_office
        } else if own_office == "A" {
            "B"
        } else {
            "A"
        };
        let (victim_user, victim_manager) = if victim_office == "A" {
            ("rep_a", &m.w.mgr_a)
        } else {
            ("rep_b", &m.w.mgr_b)
        };
        let victim = m.w.server.login(victim_user, PASSWORD).await.unwrap();
        let device = victim.login.device_id.clone().expect("a device");
        let revoke = format!("{}/v1/devices/{device}/revoke", m.w.server.url);
        let post = |credential: String| {
            let (http, url) = (m.w.server.http(), revoke.clone());
            async move { http.post(url).bearer_auth(credential).send().await.unwrap() }
        };
        let r = post(token.clone()).await;
        let status = r.status();
        denied(
            status,
            &r.text().await.unwrap(),
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert!(
            victim.pull(0, 1, 0).await.is_ok(),
            "{forger:?} revoked a device"
        );
        let r = post(victim_manager.token.expose().to_string()).await;
        assert_eq!(r.status(), StatusCode::OK, "{forger:?} baseline revoke");
        let err = victim.pull(0, 1, 0).await.unwrap_err().to_string();
        assert!(err.contains(DEVICE_REVOKED), "{forger:?}: {err}");
        cases += 1;
        baselines += 1;

        // GET /v1/updates/latest and a package (protocol 4): the office's software, for every
        // signed-in device whatever its role or office; a revoked token and the intake key are
        // refused. (Nothing is published here: 204, and 404 for the package.)
        let (status, body) = get(m, &token, "/v1/updates/latest").await;
        let (package, package_body) = get(m, &token, "/v1/updates/0.2.0/artifact").await;
        if authenticated {
            assert_eq!(status, StatusCode::NO_CONTENT, "{forger:?}: {body}");
            assert_eq!(package, StatusCode::NOT_FOUND, "{forger:?}: {package_body}");
        } else {
            denied(status, &body, StatusCode::FORBIDDEN, "forbidden");
            denied(package, &package_body, StatusCode::FORBIDDEN, "forbidden");
        }
        let (status, _) = get(m, legit.token.expose(), "/v1/updates/latest").await;
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "{forger:?} baseline updates"
        );
        cases += 1;
        baselines += 1;
    }
    (cases, baselines)
}

/// A one-click unsubscribe POST of `token`: the page it answers (always 200).
async fn one_click(m: &Matrix, token: &str) -> String {
    let r =
        m.w.server
            .http()
            .post(format!("{}/v1/unsubscribe/{token}", m.w.server.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(ONE_CLICK_BODY)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{token}");
    r.text().await.unwrap()
}

/// The leads an unsubscribe link opted out, among pulled operations.
fn unsubscribed(ops: &[Op]) -> Vec<&str> {
    ops.iter()
        .filter_map(|op| match op {
            Op::ConsentRecorded(c) if c.source == "email unsubscribe" => Some(c.lead_id.as_str()),
            _ => None,
        })
        .collect()
}

both_backends!(authorization_matrix_from_the_protocol, matrix);

/// Where the lead a role-matrix case works on is: office A (the office roles' own), office B
/// (another office, and the second office of the manager of two), office C (an office no case
/// actor works in), or no office (the admin-only bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Place {
    OfficeA,
    OfficeB,
    OfficeC,
    NoOffice,
}

const PLACES: [Place; 4] = [
    Place::OfficeA,
    Place::OfficeB,
    Place::OfficeC,
    Place::NoOffice,
];

impl Place {
    /// The office code of `authz::CASE_OFFICES` the lead is in.
    fn office(self) -> Option<&'static str> {
        match self {
            Place::OfficeA => Some(authz::CASE_OFFICES[0]),
            Place::OfficeB => Some(authz::CASE_OFFICES[1]),
            Place::OfficeC => Some(authz::CASE_OFFICES[2]),
            Place::NoOffice => None,
        }
    }
}

/// What a sample does, as the role rules see it. An exhaustive `match` over `Op`: a new
/// operation kind does not compile until it has a rule here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Work {
    /// Creates a lead in the office it names.
    NewLead,
    /// Working a lead: registrations, follow-ups, disclosures.
    Working,
    /// Recording a request or an opt-out: everyone's, and the privacy officer's anywhere.
    Recording,
    /// Carrying out an erasure, access export or correction.
    CarryOut,
    /// Defining a cadence: a manager's, in their own office (protocol 3).
    Define,
    /// Adding an intake rule for an office: a manager's, for their own office (protocol 3).
    Rule,
    /// Enrolling a lead in a cadence, advancing or stopping it (protocol 3).
    Enrol,
    /// Sent by the server only.
    ServerOnly,
}

fn work(op: &Op) -> Work {
    match op {
        Op::LeadFieldsSet(_) => Work::NewLead,
        Op::RegistrationAdded(_) | Op::FollowUpLogged(_) | Op::DisclosureRecorded(_) => {
            Work::Working
        }
        Op::ConsentRecorded(_) => Work::Recording,
        Op::RequestOpened(r) if r.status == RequestStatus::Open => Work::Recording,
        // As sampled: an access request recorded as done, the closing of an erasure request,
        // a correction's audit entry, an erasure.
        Op::RequestOpened(_) | Op::RequestHandled(_) | Op::AuditRecorded(_) | Op::LeadErased(_) => {
            Work::CarryOut
        }
        Op::CadenceSaved(_) => Work::Define,
        Op::CadenceRuleAdded(_) => Work::Rule,
        Op::EnrollmentSynced(_) => Work::Enrol,
        Op::LeadRevoked(_) | Op::PartnerRegistered(_) => Work::ServerOnly,
    }
}

/// The rule, written out: `Ok` when `actor` may push work of this kind on a lead at `place`,
/// else the refusal code. Office roles (rep, manager, privacy) belong to office A, the manager
/// of two to offices A and B (`authz::CaseActor::offices`).
fn rule(actor: CaseActor, place: Place, work: Work) -> Result<(), &'static str> {
    let role = actor.role();
    if work == Work::ServerOnly {
        return Err("server_only");
    }
    if work == Work::Define {
        // A definition names no lead: it is saved in the manager's own office wherever the case
        // is placed, and no other role may save one.
        return match role {
            Role::Manager | Role::Admin => Ok(()),
            Role::Rep | Role::Privacy | Role::PrivacyOfficer => Err("forbidden_role"),
        };
    }
    if work == Work::Rule {
        // A rule names its office: the case's (office A when the case's lead has none).
        return match role {
            Role::Admin => Ok(()),
            Role::Manager if !actor.may_touch(Some(place.office().unwrap_or("A"))) => {
                Err("forbidden_office")
            }
            Role::Manager => Ok(()),
            Role::Rep | Role::Privacy | Role::PrivacyOfficer => Err("forbidden_role"),
        };
    }
    match role {
        Role::Admin => Ok(()),
        Role::PrivacyOfficer => match work {
            Work::Recording | Work::CarryOut => Ok(()),
            Work::NewLead
            | Work::Working
            | Work::Define
            | Work::Rule
            | Work::Enrol
            | Work::ServerOnly => Err("role_required"),
        },
        Role::Rep | Role::Manager | Role::Privacy => {
            // A new lead naming no office is taking it out of every office: an admin's move.
            if !actor.may_touch(place.office()) {
                Err("forbidden_office")
            } else if work == Work::CarryOut && !role.carries_out_requests() {
                Err("role_required")
            } else {
                Ok(())
            }
        }
    }
}

/// Office C with a rep and a manager (who saves office C's cadence), and `mgr_ab`, a manager
/// of offices A and B; returns office C's rep and the manager of two, signed in.
async fn office_c_and_a_manager_of_two(m: &Matrix) -> (ApiClient, ApiClient) {
    let server = &m.w.server;
    server.add_office("C", "IT").await.unwrap();
    for (name, role, office) in [
        ("rep_c", Role::Rep, "C"),
        ("mgr_c", Role::Manager, "C"),
        ("mgr_ab", Role::Manager, "A"),
    ] {
        server
            .add_user(name, role, Some(office), PASSWORD)
            .await
            .unwrap();
    }
    server
        .admin(|tx| roles::add_office(tx, "mgr_ab", "B"))
        .await
        .unwrap();
    let mgr_c = server.login("mgr_c", PASSWORD).await.unwrap();
    let saved = Op::CadenceSaved(CadenceSaved {
        cadence_id: cadence_of("C"),
        name: "Office C trial".into(),
        version: 1,
        steps: vec![CadenceStep::Email {
            template: "intro".into(),
        }],
        created_at: t0(),
        created_by: "mgr_c".into(),
    });
    let r = mgr_c
        .push("setup-mgr_c", numbered(vec![saved]))
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    let two = server.login("mgr_ab", PASSWORD).await.unwrap();
    assert_eq!(
        two.login.offices,
        Some(vec!["A".to_string(), "B".to_string()])
    );
    (server.login("rep_c", PASSWORD).await.unwrap(), two)
}

/// The matrix's world plus a privacy role of office A and the company-wide privacy officer.
async fn role_world(options: TestOptions) -> (Matrix, ApiClient, ApiClient) {
    let m = Matrix::start(options).await;
    m.w.server
        .add_user("privacy_a", Role::Privacy, Some("A"), PASSWORD)
        .await
        .unwrap();
    m.w.server
        .add_user("officer", Role::PrivacyOfficer, None, PASSWORD)
        .await
        .unwrap();
    let privacy = m.w.server.login("privacy_a", PASSWORD).await.unwrap();
    let officer = m.w.server.login("officer", PASSWORD).await.unwrap();
    (m, privacy, officer)
}

/// Every role and a manager of two offices × every operation kind (and a request recorded
/// open) × a lead in office A, office B, office C and no office, pushed to a real server: each
/// is applied or refused exactly as `rule` says. Prints the case count.
async fn role_matrix(options: TestOptions) {
    let (m, privacy, officer) = role_world(options).await;
    let (rep_c, two) = office_c_and_a_manager_of_two(&m).await;
    assert_eq!(officer.login.role, Role::PrivacyOfficer);
    assert_eq!(officer.login.office, None);
    assert_eq!(privacy.login.role, Role::Privacy);
    let client_of = |actor: CaseActor| -> &ApiClient {
        match actor {
            CaseActor::Role(Role::Rep) => &m.w.rep_a,
            CaseActor::Role(Role::Manager) => &m.w.mgr_a,
            CaseActor::Role(Role::Privacy) => &privacy,
            CaseActor::Role(Role::Admin) => &m.w.admin,
            CaseActor::Role(Role::PrivacyOfficer) => &officer,
            CaseActor::ManagerOfTwo => &two,
        }
    };
    let actors = CaseActor::all();
    let kinds = with_recorded_request(authz::samples(&SampleContext::default()));
    let (mut cases, mut applied) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    for &actor in &actors {
        let client = client_of(actor);
        for place in PLACES {
            for (k, kind) in kinds.iter().enumerate() {
                cases += 1;
                let office = place.office();
                let creator = match place {
                    Place::OfficeA => &m.w.rep_a,
                    Place::OfficeB => &m.w.rep_b,
                    Place::OfficeC => &rep_c,
                    Place::NoOffice => &m.w.admin,
                };
                let setup = format!("role-{cases}-setup");
                let lead = new_lead(
                    creator,
                    &setup,
                    1,
                    "Role Person",
                    &format!("role{cases}@example.com"),
                )
                .await;
                let request = open_request(creator, &setup, &lead).await;
                let samples = with_recorded_request(authz::samples(&SampleContext {
                    user: client.login.user.clone(),
                    office: office.unwrap_or("A").into(),
                    lead_id: lead.clone(),
                    new_lead_id: id("role-new-lead"),
                    request_id: request,
                    partner_id: m.partner.id.clone(),
                    partner_name: m.partner.name.clone(),
                    suffix: format!("role{cases}-{}", id("s")),
                    at: t0(),
                    hlc: hlc(Utc::now(), 0, &format!("role{cases}")),
                    cadence_id: cadence_of(office.unwrap_or("A")),
                    replica_id: format!("role-{cases}-push"),
                }));
                let mut op = samples[k].clone();
                assert_eq!(op.kind(), kind.kind());
                if place == Place::NoOffice && matches!(op, Op::LeadFieldsSet(_)) {
                    op = authz::with_field(&op, "fields.office", None);
                }
                let expected = rule(actor, place, work(&op));
                let label = format!("{actor} {} on a lead of {place:?}", op.kind());
                let r = client
                    .push(&format!("role-{cases}-push"), numbered(vec![op.clone()]))
                    .await
                    .unwrap();
                let result = &r.results[0];
                match expected {
                    Ok(()) => {
                        assert_eq!(result.status, PushStatus::Applied, "{label}: {r:?}");
                        assert_eq!(result.code, None, "{label}: {r:?}");
                        applied += 1;
                    }
                    Err(code) => {
                        assert_eq!(result.status, PushStatus::Rejected, "{label}: {r:?}");
                        assert_eq!(result.code.as_deref(), Some(code), "{label}: {r:?}");
                        if code == "role_required" {
                            // The refusal says who can do it.
                            let reason = result.reason.as_deref().unwrap_or_default();
                            assert!(reason.contains("privacy officer"), "{label}: {r:?}");
                        }
                    }
                }
                seen.insert((actor, place, work(&op), expected));
            }
        }
    }
    println!(
        "role matrix: {cases} cases ({} actors × {} operations × {} places), {applied} applied, \
         {} refused",
        actors.len(),
        kinds.len(),
        PLACES.len(),
        cases - applied
    );
    assert_eq!(cases, actors.len() * kinds.len() * PLACES.len());
    // Both answers occur for each actor, so neither a server that refuses everything nor one
    // that applies everything passes.
    for &actor in &actors {
        assert!(
            seen.iter().any(|(a, _, _, e)| *a == actor && e.is_ok()),
            "{actor}"
        );
        assert!(
            seen.iter().any(|(a, _, _, e)| *a == actor && e.is_err()),
            "{actor}"
        );
    }
    // The manager of two: office A's and B's leads worked on, office C's refused.
    for place in [Place::OfficeA, Place::OfficeB] {
        assert!(seen.contains(&(CaseActor::ManagerOfTwo, place, Work::Working, Ok(()))));
    }
    assert!(seen.contains(&(
        CaseActor::ManagerOfTwo,
        Place::OfficeC,
        Work::Working,
        Err("forbidden_office")
    )));
}

/// The samples plus a request recorded open (what a rep does with an erasure request).
fn with_recorded_request(mut samples: Vec<Op>) -> Vec<Op> {
    let opened = samples
        .iter()
        .find(|op| matches!(op, Op::RequestOpened(_)))
        .expect("a request_opened sample");
    let mut recorded = authz::with_field(opened, "status", Some("open"));
    recorded = authz::with_field(&recorded, "handled_by", None);
    recorded = authz::with_field(&recorded, "handled_at", None);
    if let Op::RequestOpened(r) = &mut recorded {
        r.id = format!("{}-recorded", r.id);
        r.kind = RequestKind::Erase;
    }
    samples.push(recorded);
    samples
}

/// Opens an erasure request about `lead` as `client`; returns its id.
async fn open_request(client: &ApiClient, replica: &str, lead: &str) -> String {
    let request = id("request");
    let opened = Op::RequestOpened(SubscriberRequest {
        id: request.clone(),
        lead_id: lead.into(),
        kind: RequestKind::Erase,
        received_at: t0(),
        due_at: t0() + chrono::Duration::days(30),
        status: RequestStatus::Open,
        detail: None,
        handled_by: None,
        handled_at: None,
    });
    let r = client
        .push(replica, numbered_from(3, vec![opened]))
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    request
}

both_backends!(every_role_every_operation_every_office, role_matrix);

/// A role given with `roles::set_role` holds from the account's next request on the same
/// token: a rep's erasure is refused, the same token's erasure is applied once the admin makes
/// them privacy staff, and refused again once they are a rep again.
async fn role_change_holds_from_the_next_request(options: TestOptions) {
    let w = World::start(options).await;
    let erase = |lead: &str| {
        Op::LeadErased(LeadErased {
            lead_id: lead.into(),
            erased_at: t0(),
            by: "rep_a".into(),
            suppression_hashes: vec![],
        })
    };
    let first = new_lead(&w.rep_a, "change-1", 1, "First", "first@example.com").await;
    let second = new_lead(&w.rep_a, "change-2", 1, "Second", "second@example.com").await;
    let third = new_lead(&w.rep_a, "change-3", 1, "Third", "third@example.com").await;
    let answer = |r: PushResponse| (r.results[0].status, r.results[0].code.clone());

    let r = w
        .rep_a
        .push("change-p1", numbered(vec![erase(&first)]))
        .await
        .unwrap();
    assert_eq!(
        answer(r),
        (PushStatus::Rejected, Some("role_required".into()))
    );

    w.server
        .admin(|tx| roles::set_role(tx, "rep_a", Role::Privacy, Some("A"), chrono::Utc::now()))
        .await
        .unwrap();
    let r = w
        .rep_a
        .push("change-p2", numbered(vec![erase(&second)]))
        .await
        .unwrap();
    assert_eq!(answer(r), (PushStatus::Applied, None));

    w.server
        .admin(|tx| roles::set_role(tx, "rep_a", Role::Rep, Some("A"), chrono::Utc::now()))
        .await
        .unwrap();
    let r = w
        .rep_a
        .push("change-p3", numbered(vec![erase(&third)]))
        .await
        .unwrap();
    assert_eq!(
        answer(r),
        (PushStatus::Rejected, Some("role_required".into()))
    );

    // The admin's checks: a privacy officer takes no office, an office role needs one.
    let officer_with_office = w
        .server
        .admin(|tx| {
            roles::set_role(
                tx,
                "rep_a",
                Role::PrivacyOfficer,
                Some("A"),
                chrono::Utc::now(),
            )
        })
        .await;
    assert!(officer_with_office.is_err());
    let manager_without = w
        .server
        .admin(|tx| roles::set_role(tx, "rep_a", Role::Manager, None, chrono::Utc::now()))
        .await;
    assert!(manager_without.is_err());
    let nobody = w
        .server
        .admin(|tx| roles::set_role(tx, "nobody", Role::Manager, Some("A"), chrono::Utc::now()))
        .await;
    assert!(nobody.is_err());
}

both_backends!(
    a_role_change_holds_from_the_next_request,
    role_change_holds_from_the_next_request
);

/// The privacy officer pulls every office's people who have a subscriber request, whole, and
/// nobody else: not another lead, not another follow-up, not the revocation of a person whose
/// lead moves office. A person whose first request arrives after the officer synced arrives
/// whole too. The officer reads no office history, and their erasure reaches the office.
async fn officer_pulls_requests_only(options: TestOptions) {
    let (m, _privacy, officer) = role_world(options).await;
    let w = &m.w;
    let quiet = new_lead(&w.rep_a, "view-a1", 1, "Quiet Person", "quiet@example.com").await;
    let asking = new_lead(
        &w.rep_a,
        "view-a2",
        1,
        "Asking Person",
        "asking@example.com",
    )
    .await;
    let later = new_lead(&w.rep_b, "view-b1", 1, "Later Person", "later@example.com").await;
    for (client, replica, lead, user) in [
        (&w.rep_a, "view-a1", &quiet, "rep_a"),
        (&w.rep_a, "view-a2", &asking, "rep_a"),
        (&w.rep_b, "view-b1", &later, "rep_b"),
    ] {
        let r = client
            .push(
                replica,
                numbered_from(3, vec![follow_up(lead, Some("called"), user)]),
            )
            .await
            .unwrap();
        assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    }
    open_request(&w.rep_a, "view-a2-request", &asking).await;

    let (first, cursor) = officer.pull_all(0).await.unwrap();
    let ops: Vec<Op> = first.into_iter().map(|c| c.op).collect();
    assert!(mentions(&ops, &asking), "the person with a request");
    assert!(ops
        .iter()
        .any(|o| matches!(o, Op::FollowUpLogged(f) if f.lead_id == asking)));
    assert!(!mentions(&ops, &quiet), "a lead without a request");
    assert!(
        !mentions(&ops, &later),
        "another office's lead without a request"
    );

    // Office B's person asks after the officer synced: their earlier state arrives whole.
    open_request(&w.rep_b, "view-b1-request", &later).await;
    // Office A's asking person moves to office B: the officer keeps them.
    let r = w
        .admin
        .push(
            "view-admin",
            numbered(vec![office(&asking, "B", hlc(Utc::now(), 0, "view"))]),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    let (next, _) = officer.pull_all(cursor).await.unwrap();
    let ops: Vec<Op> = next.into_iter().map(|c| c.op).collect();
    assert!(
        ops.iter().any(|o| matches!(o,
        Op::LeadFieldsSet(LeadFieldsSet { lead_id, fields: LeadFields::Email { .. }, .. })
            if *lead_id == later)),
        "the late asker's email, from before the cursor"
    );
    assert!(ops
        .iter()
        .any(|o| matches!(o, Op::FollowUpLogged(f) if f.lead_id == later)));
    assert!(
        !ops.iter().any(|o| matches!(o, Op::LeadRevoked(_))),
        "{ops:?}"
    );
    assert!(!mentions(&ops, &quiet));

    // No office history for the officer.
    let (status, body) = get(&m, officer.token.expose(), "/v1/follow-ups").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // The officer carries out office B's erasure; office B learns of it.
    let erased = Op::LeadErased(LeadErased {
        lead_id: later.clone(),
        erased_at: t0(),
        by: "officer".into(),
        suppression_hashes: vec![],
    });
    let r = officer
        .push("view-officer", numbered(vec![erased]))
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    let office_b = everything(&w.rep_b).await;
    assert!(office_b
        .iter()
        .any(|o| matches!(o, Op::LeadErased(e) if e.lead_id == later && e.by == "officer")));
}

both_backends!(
    the_privacy_officer_pulls_requests_only,
    officer_pulls_requests_only
);
