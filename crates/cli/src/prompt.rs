//! The terminal approval prompt (ratatui, drawn inline on stderr so the run's output on stdout
//! stays clean).
//!
//! It shows everything the decision is about: the skill, its publisher, signature and digest,
//! the exact command, and each scope with its risk and the policy's reason. Ctrl-C, Esc, an
//! error of the terminal and the deadline all count as a denial; a decision made meanwhile in
//! another shell (`aegisclaw approvals approve`) closes the prompt.

use std::io::{Stderr, Write};
use std::time::{Duration, Instant};

use aegisclaw_core::{Decision, Risk};
use aegisclaw_runtime::{Answer, Approver, Pending, WaitApprover};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::{Terminal, TerminalOptions, Viewport};

/// The smallest terminal the prompt is drawn on.
const MIN_COLS: u16 = 60;
const MIN_ROWS: u16 = 12;

/// How often the prompt looks for a decision made elsewhere.
const POLL: Duration = Duration::from_millis(250);

/// Asks on the terminal.
#[derive(Debug, Default)]
pub(crate) struct TerminalApprover;

impl TerminalApprover {
    pub(crate) fn new() -> Self {
        Self
    }
}

/// One line of the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Once,
    For(Duration),
    Deny,
}

impl Choice {
    fn label(self) -> String {
        match self {
            Self::Once => "Allow once".into(),
            Self::For(d) => format!(
                "Allow this exact run again for {}",
                humantime::format_duration(d)
            ),
            Self::Deny => "Deny".into(),
        }
    }
}

/// Leaves raw mode however the prompt ends.
struct RawMode;

impl RawMode {
    fn enter() -> std::io::Result<Self> {
        terminal::enable_raw_mode()?;
        Ok(Self)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
    }
}

impl Approver for TerminalApprover {
    fn ask(&mut self, pending: &Pending<'_>) -> aegisclaw_runtime::Result<Answer> {
        // A terminal too small to show the whole request cannot ask about it: decide from
        // another shell instead.
        let (cols, rows) = terminal::size().unwrap_or((0, 0));
        if cols < MIN_COLS || rows < MIN_ROWS {
            return WaitApprover::new(std::io::stderr()).ask(pending);
        }
        let answer = match prompt(pending) {
            Ok(answer) => answer,
            Err(e) => {
                eprintln!("aegisclaw: the approval prompt failed ({e}); denying");
                Answer::Deny
            }
        };
        let said = match answer {
            Answer::AllowOnce => "allowed once".to_string(),
            Answer::AllowFor(d) => format!(
                "allowed, and identical runs for {}",
                humantime::format_duration(d)
            ),
            Answer::Deny => "denied".into(),
            Answer::Elsewhere => "decided elsewhere or timed out".into(),
        };
        eprintln!("aegisclaw: approval {}: {said}", pending.id);
        Ok(answer)
    }
}

fn choices(pending: &Pending<'_>) -> Vec<Choice> {
    let max = pending
        .request
        .max_grant
        .unwrap_or(Duration::from_secs(3600));
    let mut list = vec![Choice::Once];
    for d in [Duration::from_secs(3600), max] {
        let d = d.min(max);
        if !d.is_zero() && !list.contains(&Choice::For(d)) {
            list.push(Choice::For(d));
        }
    }
    list.push(Choice::Deny);
    list
}

fn prompt(pending: &Pending<'_>) -> std::io::Result<Answer> {
    let choices = choices(pending);
    // Deny is preselected: a stray Enter must not approve.
    let mut selected = choices.len() - 1;
    let height = u16::try_from(12 + pending.request.scopes.len() + choices.len()).unwrap_or(40);
    let _raw = RawMode::enter()?;
    let mut term = Terminal::with_options(
        CrosstermBackend::new(std::io::stderr()),
        TerminalOptions {
            viewport: Viewport::Inline(height),
        },
    )?;
    let mut last_poll = Instant::now();
    let answer = loop {
        let left = pending.remaining();
        if left.is_zero() {
            break Answer::Elsewhere;
        }
        term.draw(|f| {
            let widget = render(pending, &choices, selected, left);
            f.render_widget(widget, f.area());
        })?;
        if event::poll(POLL)?
            && let Event::Key(key) = event::read()?
        {
            if key.kind != KeyEventKind::Press {
                continue;
            }
            let ctrl_c =
                key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
            match key.code {
                _ if ctrl_c => break Answer::Deny,
                KeyCode::Esc | KeyCode::Char('d' | 'n' | 'q') => break Answer::Deny,
                KeyCode::Char('a' | 'y') => break Answer::AllowOnce,
                KeyCode::Up | KeyCode::Char('k') => selected = selected.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') | KeyCode::Tab => {
                    selected = (selected + 1).min(choices.len() - 1);
                }
                KeyCode::Enter => {
                    break match choices[selected] {
                        Choice::Once => Answer::AllowOnce,
                        Choice::For(d) => Answer::AllowFor(d),
                        Choice::Deny => Answer::Deny,
                    };
                }
                _ => {}
            }
        }
        if last_poll.elapsed() >= POLL {
            last_poll = Instant::now();
            match pending.decided_elsewhere() {
                Ok(Some(_)) => break Answer::Elsewhere,
                Ok(None) => {}
                Err(_) => break Answer::Deny,
            }
        }
    };
    term.clear()?;
    drop(term);
    let mut err: Stderr = std::io::stderr();
    err.flush()?;
    Ok(answer)
}

fn risk_style(risk: Risk) -> Style {
    match risk {
        Risk::Low => Style::default().fg(Color::Green),
        Risk::Medium => Style::default().fg(Color::Yellow),
        Risk::High => Style::default().fg(Color::LightRed),
        Risk::Critical => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
    }
}

fn render<'a>(
    pending: &'a Pending<'_>,
    choices: &[Choice],
    selected: usize,
    left: Duration,
) -> Paragraph<'a> {
    let r = pending.request;
    let key = |k: &'a str| {
        Span::styled(
            format!("{k:<10} "),
            Style::default().add_modifier(Modifier::BOLD),
        )
    };
    let signature = match (&r.signer, r.signature.as_str()) {
        (Some(signer), _) => Span::styled(
            format!("signed by {signer}"),
            Style::default().fg(Color::Green),
        ),
        (None, "unsigned") => Span::styled("unsigned", Style::default().fg(Color::Yellow)),
        (None, other) => Span::styled(other.to_string(), Style::default().fg(Color::Red)),
    };
    let mut lines = vec![
        Line::from(vec![
            key("skill"),
            Span::raw(format!(
                "{} {}  (publisher: {})",
                r.skill, r.version, r.publisher
            )),
        ]),
        Line::from(vec![key("signature"), signature]),
        Line::from(vec![key("digest"), Span::raw(r.digest.clone())]),
        Line::from(vec![key("command"), Span::raw(shell_words(&r.command))]),
        Line::from(vec![key("asked by"), Span::raw(r.requested_by.clone())]),
        Line::from(key("scopes")),
    ];
    if r.scopes.is_empty() {
        lines.push(Line::from("  (none)"));
    }
    for s in &r.scopes {
        let decision = match s.decision {
            Decision::Allow => Span::styled("allow", Style::default().fg(Color::Green)),
            Decision::Ask => Span::styled("ask  ", Style::default().fg(Color::Yellow)),
            Decision::Deny => Span::styled("deny ", Style::default().fg(Color::Red)),
        };
        lines.push(Line::from(vec![
            Span::raw("  "),
            Span::styled(format!("{:<8}", s.risk.as_str()), risk_style(s.risk)),
            decision,
            Span::raw(format!("  {}  — {}", s.scope, s.reason)),
        ]));
    }
    lines.push(Line::from(""));
    for (i, c) in choices.iter().enumerate() {
        let style = if i == selected {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::default()
        };
        let marker = if i == selected { "› " } else { "  " };
        lines.push(Line::from(Span::styled(
            format!("{marker}{}", c.label()),
            style,
        )));
    }
    lines.push(Line::from(Span::styled(
        "↑/↓ choose · Enter confirm · a allow once · d/Esc/Ctrl-C deny",
        Style::default().add_modifier(Modifier::DIM),
    )));
    let title = format!(
        " AegisClaw: approve {}? (id {}, {} left) ",
        r.skill,
        pending.id,
        humantime::format_duration(Duration::from_secs(left.as_secs()))
    );
    Paragraph::new(lines)
        .block(Block::default().borders(Borders::ALL).title(title))
        .wrap(Wrap { trim: false })
}

/// The command as a shell would need it typed (for display only).
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
