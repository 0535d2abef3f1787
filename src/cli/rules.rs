//! `zhijian rules check|test`: the service standard's files and their own test cases.

use anyhow::Result;

use crate::rules::cases;
use crate::text::TextAnalyzer;

use super::{Outcome, RulesArg, RulesCommand};

pub(crate) fn run(command: RulesCommand) -> Result<Outcome> {
    let analyzer = TextAnalyzer::new();
    match command {
        RulesCommand::Check { dir } => {
            let rules = RulesArg { dir }.load(&analyzer)?;
            let cases: usize = rules.rules.iter().map(|r| r.cases.len()).sum();
            println!(
                "{}: {} {} — {} rules, {} test cases, all valid",
                rules.dir.display(),
                rules.standard.name,
                rules.standard.version,
                rules.rules.len(),
                cases
            );
            Ok(Outcome::Done)
        }
        RulesCommand::Test { dir } => {
            let rules = RulesArg { dir }.load(&analyzer)?;
            let outcomes = cases::run_all(&rules, &analyzer);
            let mut failed = 0;
            for o in &outcomes {
                match &o.failure {
                    None => println!("ok   {} · {}", o.rule, o.name),
                    Some(why) => {
                        failed += 1;
                        println!(
                            "FAIL {} · {}\n     {}: {why}",
                            o.rule,
                            o.name,
                            o.path.display()
                        );
                    }
                }
            }
            println!(
                "{} of {} cases passed",
                outcomes.len() - failed,
                outcomes.len()
            );
            Ok(if failed == 0 {
                Outcome::Done
            } else {
                Outcome::SomeFailed
            })
        }
    }
}
