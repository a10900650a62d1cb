//! `switchboard cadence add|list|show|enroll|stop|report|due`: cadences (issue 12) from the command
//! line, over the core's `cadence` module.

use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output::{self, Fields, Table};
use clap::Subcommand;
use serde::Serialize;
use std::path::PathBuf;
use switchboard_core::cadence::{definition, enrollment, Rule, Step};
use switchboard_core::protocol::RegistrationKind;

/// The `cadence` subcommands.
#[derive(Debug, Subcommand)]
pub enum CadenceCommand {
    /// Define a cadence, or save a new version of it (enrolled leads keep theirs). Steps in
    /// order: email=TEMPLATE, call=SCRIPT[|outcome,…], letter=TEMPLATE, wait=BUSINESS_DAYS.
    /// With a --rule-… option, registrations matching it enrol their lead at intake.
    Add {
        /// The cadence's name
        name: String,
        /// A step, in order (repeat the option)
        #[arg(long = "step", required = true)]
        steps: Vec<String>,
        /// Enrol registrations of this kind (license_key, demo, quote, contact, other)
        #[arg(long)]
        rule_kind: Option<String>,
        /// Enrol registrations for this product
        #[arg(long)]
        rule_product: Option<String>,
        /// Enrol registrations from this country (ISO alpha-2)
        #[arg(long)]
        rule_country: Option<String>,
        /// Enrol registrations of leads in this office
        #[arg(long)]
        rule_office: Option<String>,
    },
    /// The cadences with their current steps
    List,
    /// A cadence: steps, intake rules, enrolment counts and the latest enrolments
    Show {
        /// The cadence's name or id
        name: String,
    },
    /// Enrol leads (ids or emails, and/or a file of them: one a line, or a CSV with an email
    /// column such as the file they were imported from)
    Enroll {
        /// The cadence's name or id
        name: String,
        /// Leads by id or email address
        leads: Vec<String>,
        /// A file listing leads
        #[arg(long)]
        file: Option<PathBuf>,
        /// Every lead a search finds (the text `switchboard leads search` takes)
        #[arg(long)]
        search: Option<String>,
    },
    /// Stop a lead's cadence by hand (every cadence it is in, or one)
    Stop {
        /// The lead's id or email address
        lead: String,
        /// Only this cadence
        #[arg(long)]
        cadence: Option<String>,
    },
    /// The managers' review: per cadence and step, enrolled, completed, replied, meetings,
    /// opt-outs, bounces and the time from registration to first touch
    Report(super::cadence_report::ReportArgs),
    /// The steps due now, with the gate's answer for each at this moment
    Due {
        /// Only this rep's steps
        #[arg(long)]
        rep: Option<String>,
        /// At most this many
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// What `show` prints as JSON.
#[derive(Serialize)]
struct Shown {
    cadence: definition::Cadence,
    rules: Vec<Rule>,
    counts: enrollment::Counts,
    enrollments: Vec<enrollment::Enrollment>,
}

/// Runs a `cadence` subcommand.
pub fn run(ctx: &Context, command: CadenceCommand) -> CliResult {
    match command {
        CadenceCommand::Add {
            name,
            steps,
            rule_kind,
            rule_product,
            rule_country,
            rule_office,
        } => {
            let steps = steps
                .iter()
                .map(|s| definition::parse_step(s))
                .collect::<Result<Vec<_>, _>>()?;
            let kind = rule_kind
                .map(|k| {
                    k.parse::<RegistrationKind>().map_err(|_| {
                        Failure::bad_input(format!(
                            "unknown registration kind '{k}' (license_key, demo, quote, contact, other)"
                        ))
                    })
                })
                .transpose()?;
            let rule = Rule {
                kind,
                product: rule_product,
                country: rule_country,
                office: rule_office,
            };
            let wants_rule = rule != Rule::default();
            let mut store = ctx.open_store()?;
            let saved = store.with_tx_now(|tx, at| {
                let saved = definition::save(tx, &name, &steps, ctx.actor(), at)?;
                if wants_rule {
                    definition::add_rule(tx, &saved.id, &rule, ctx.actor(), at)?;
                }
                Ok(saved)
            })?;
            if ctx.json {
                return output::json(&saved);
            }
            output::line(format!(
                "Saved the cadence '{}' as version {} ({} steps).",
                output::clean(&saved.name),
                saved.version,
                saved.steps.len()
            ))
        }
        CadenceCommand::List => {
            let store = ctx.open_store()?;
            let all = definition::list(store.conn())?;
            if ctx.json {
                return output::json(&all);
            }
            let mut table = Table::new(&["NAME", "VERSION", "STEPS"]);
            for c in &all {
                let steps: Vec<String> = c.steps.iter().map(Step::label).collect();
                table.row(vec![
                    output::clean(&c.name),
                    c.version.to_string(),
                    output::clean(&steps.join(" → ")),
                ]);
            }
            table.print()
        }
        CadenceCommand::Show { name } => {
            let store = ctx.open_store()?;
            let conn = store.conn();
            let cadence = definition::find(conn, &name)?;
            let shown = Shown {
                rules: definition::rules(conn, &cadence.id)?,
                counts: enrollment::counts(conn, &cadence.id)?,
                enrollments: enrollment::of_cadence(conn, &cadence.id, 50)?,
                cadence,
            };
            if ctx.json {
                return output::json(&shown);
            }
            let mut fields = Fields::new();
            fields
                .add("Cadence", output::clean(&shown.cadence.name))
                .add("Version", shown.cadence.version.to_string())
                .add(
                    "Enrolled",
                    format!(
                        "{} active, {} completed, {} stopped",
                        shown.counts.active, shown.counts.completed, shown.counts.stopped
                    ),
                );
            for (i, step) in shown.cadence.steps.iter().enumerate() {
                fields.add(&format!("Step {}", i + 1), output::clean(&step.label()));
            }
            fields.print()?;
            // Only the owner laptop runs an enrolment's steps; the others show and may stop it.
            let mut table =
                Table::new(&["LEAD", "VERSION", "STATE", "NEXT", "DUE", "RUN BY", "WHY"]);
            for e in &shown.enrollments {
                table.row(vec![
                    e.lead_id.clone(),
                    e.version.to_string(),
                    e.state.clone(),
                    e.channel
                        .map(|c| c.as_str().to_string())
                        .unwrap_or_default(),
                    output::opt_time(e.due_at),
                    match &e.owner_replica {
                        None => "this laptop".to_string(),
                        // The random tail of the id names the laptop; `--json` has it whole.
                        Some(id) => {
                            let tail: String = id.chars().rev().take(12).collect();
                            let tail: String = tail.chars().rev().collect();
                            format!("laptop …{}", output::clean(&tail))
                        }
                    },
                    output::opt(e.stop_reason.as_deref()),
                ]);
            }
            table.print()
        }
        CadenceCommand::Enroll {
            name,
            leads,
            file,
            search,
        } => {
            let mut refs = leads;
            if let Some(path) = &file {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Failure::io(format!("reading {}", path.display()), e))?;
                refs.extend(lead_refs(&text));
            }
            let mut store = ctx.open_store()?;
            if let Some(text) = &search {
                let most = switchboard_core::search::MAX_LIMIT;
                let hits = switchboard_core::search::search(store.conn(), text, most)?;
                if hits.len() >= most {
                    // A search answers its best `most` hits: enrolling those would look complete.
                    return Err(Failure::bad_input(format!(
                        "the search '{}' finds {most} leads or more: narrow it, or list the \
                         leads in a file for --file; nothing was enrolled",
                        output::clean(text)
                    )));
                }
                if hits.is_empty() {
                    return Err(Failure::bad_input(format!(
                        "the search '{}' finds no lead: nothing was enrolled",
                        output::clean(text)
                    )));
                }
                refs.extend(hits.into_iter().map(|h| h.lead.id));
            }
            if refs.is_empty() {
                return Err(Failure::bad_input(
                    "name the leads to enrol (ids or emails), or give --file or --search",
                ));
            }
            let done = store
                .with_tx_now(|tx, at| enrollment::enroll(tx, &name, &refs, ctx.actor(), at))?;
            if ctx.json {
                return output::json(&done);
            }
            output::line(format!(
                "Enrolled {} lead(s) in '{}' version {} ({} already in it).",
                done.enrolled,
                output::clean(&done.cadence),
                done.version,
                done.already
            ))?;
            for s in &done.skipped {
                output::line(format!(
                    "Skipped {}: {}",
                    output::clean(&s.lead),
                    output::clean(&s.reason)
                ))?;
            }
            Ok(())
        }
        CadenceCommand::Stop { lead, cadence } => {
            let mut store = ctx.open_store()?;
            let stopped = store.with_tx_now(|tx, at| {
                enrollment::stop(tx, &lead, cadence.as_deref(), ctx.actor(), at)
            })?;
            if ctx.json {
                return output::json(&serde_json::json!({ "stopped": stopped }));
            }
            output::line(format!("Stopped {stopped} cadence(s)."))
        }
        CadenceCommand::Report(args) => super::cadence_report::run(ctx, args),
        CadenceCommand::Due { rep, limit } => {
            let store = ctx.open_store()?;
            let tasks = enrollment::due(store.conn(), store.now(), rep.as_deref(), limit)?;
            if ctx.json {
                return output::json(&tasks);
            }
            let mut table = Table::new(&["LEAD", "NAME", "CADENCE", "STEP", "DUE", "GATE"]);
            for t in &tasks {
                table.row(vec![
                    t.enrollment.lead_id.clone(),
                    output::opt(t.lead_name.as_deref()),
                    output::clean(&t.enrollment.cadence),
                    output::clean(&t.step.label()),
                    output::opt_time(t.enrollment.due_at),
                    t.gate
                        .reason()
                        .map_or("allowed".into(), |r| output::clean(&r.message())),
                ]);
            }
            table.print()
        }
    }
}

/// Lead references in a file: one id or email a line, or, when the first line is a CSV header
/// with an `email` column, that column of every row.
fn lead_refs(text: &str) -> Vec<String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(first) = lines.next() else {
        return Vec::new();
    };
    let header = split_csv(first);
    let email_column = header
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case("email"));
    match email_column {
        Some(col) if header.len() > 1 => lines
            .filter_map(|l| split_csv(l).get(col).map(|v| v.trim().to_string()))
            .filter(|v| !v.is_empty())
            .collect(),
        _ => std::iter::once(first)
            .chain(lines)
            .map(|l| l.trim().to_string())
            .collect(),
    }
}

/// One CSV line's fields (quotes and doubled quotes understood; no line breaks inside fields).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().expect("one field").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}
