//! `switchboard manpage` (hidden): the manual page, generated from the same clap definition that
//! parses the command line, so the page the packages install cannot drift from `--help`.

use crate::args::Cli;
use crate::failure::{CliResult, Failure};
use clap::CommandFactory;
use std::io::Write;

/// Writes switchboard(1) as roff to stdout (`make bundle` gzips it into the .deb).
pub fn run() -> CliResult {
    let mut page = Vec::new();
    render(&mut page).map_err(|e| Failure::io("rendering the manual page", e))?;
    std::io::stdout()
        .write_all(&page)
        .map_err(|e| Failure::io("writing the manual page", e))
}

/// The page: clap's synopsis, options and subcommand list, plus where each command's own
/// options are described.
fn render(out: &mut dyn Write) -> std::io::Result<()> {
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    writeln!(out, ".SH \"COMMAND OPTIONS\"")?;
    writeln!(
        out,
        "Each command's own arguments: \\fBswitchboard help\\fR \\fICOMMAND\\fR."
    )?;
    writeln!(out, ".SH FILES")?;
    writeln!(out, ".TP")?;
    writeln!(
        out,
        "\\fI$XDG_DATA_HOME/switchboard/switchboard.db\\fR (\\fI~/.local/share/switchboard/switchboard.db\\fR)"
    )?;
    writeln!(
        out,
        "The replica database, shared with the Switchboard desktop app (override with \\fB\\-\\-db\\fR or \\fBSWITCHBOARD_DB\\fR). The sign-in token is kept in the OS keychain (Secret Service) under the service name \\fBswitchboard\\fR, shared with the desktop app too."
    )?;
    writeln!(out, ".SH \"SEE ALSO\"")?;
    writeln!(out, "\\fBswitchboard-desktop\\fR(1)")?;
    man.render_version_section(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_lists_every_visible_command_and_the_version() {
        let mut page = Vec::new();
        render(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with(".ie \\n(.g"), "{page}");
        assert!(page.contains(".TH switchboard 1"), "{page}");
        let command = Cli::command();
        let visible: Vec<_> = command
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .collect();
        assert!(visible.len() > 20, "{}", visible.len());
        for sub in visible {
            let name = sub.get_name().replace('-', "\\-");
            assert!(page.contains(&name), "{name} missing from the page");
        }
        assert!(
            !page.contains("manpage"),
            "the hidden command leaked into the page"
        );
        assert!(page.contains(env!("CARGO_PKG_VERSION")), "{page}");
    }
}
