use super::query::Filter;
use super::*;
use crate::call::EventKind;
use crate::rules::judge_call;
use crate::text::tests::analyzer;

fn rules() -> RuleSet {
    RuleSet::built_in(analyzer()).unwrap()
}

/// A two-party call whose agent says `agent_says` after a proper greeting.
fn transcript(call_id: &str, agent_says: &str) -> CallTranscript {
    let utterance = |party, start: f64, end: f64, text: &str| {
        let t = analyzer().analyze(text);
        Utterance {
            party,
            start: Seconds(start),
            end: Seconds(end),
            text: t.display,
            normalized: t.normalized,
            words: t.words,
        }
    };
    let utterances = vec![
        utterance(
            Party::Agent,
            0.5,
            4.0,
            "您好，联通客服中心，工号1086为您服务。",
        ),
        utterance(Party::Customer, 4.5, 7.0, "我的话费好像扣错了。"),
        utterance(Party::Agent, 7.5, 10.0, agent_says),
        utterance(
            Party::Agent,
            10.5,
            13.0,
            "请问还有什么可以帮您？感谢来电，再见。",
        ),
    ];
    let track = |party| Track {
        party,
        speech: utterances
            .iter()
            .filter(|u| u.party == party)
            .map(|u| crate::voice::SpeechSpan {
                start: u.start,
                end: u.end,
            })
            .collect(),
    };
    CallTranscript {
        call_id: call_id.into(),
        source: format!("/calls/{call_id}.wav").into(),
        duration: Seconds(14.0),
        sample_rate: 8000,
        encoding: "G.711 μ-law".into(),
        tracks: vec![track(Party::Agent), track(Party::Customer)],
        utterances,
        warnings: vec![],
        tones: Default::default(),
    }
}

fn events() -> Vec<CallEvent> {
    vec![
        CallEvent {
            t: Seconds(-3.0),
            kind: EventKind::Ring,
            inferred: false,
        },
        CallEvent {
            t: Seconds(0.0),
            kind: EventKind::Answer,
            inferred: false,
        },
    ]
}

fn card(rules: &RuleSet, t: &CallTranscript) -> Scorecard {
    let results = judge_call(rules, analyzer(), t, &events());
    Scorecard::new(rules, t, events(), results)
}

fn meta(agent: &str, started: &str) -> CallMeta {
    CallMeta {
        agent_id: Some(agent.into()),
        queue: Some("billing".into()),
        started_at: Some(Timestamp::parse(started).unwrap()),
    }
}

fn commit(
    store: &mut Store,
    run: RunId,
    rules: &RuleSet,
    t: &CallTranscript,
    m: &CallMeta,
    inputs: &str,
) -> Scorecard {
    let c = card(rules, t);
    store
        .commit_call(
            run,
            &NewCall {
                transcript: t,
                card: &c,
                meta: m,
                audio_sha256: "aa",
                transcript_key: "kk",
                inputs_key: inputs,
                rules,
            },
        )
        .unwrap();
    c
}

fn count(store: &Store, table: &str) -> i64 {
    store
        .conn()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_committed_call_comes_back_as_the_same_scorecard_and_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("sub/zhijian.db")).unwrap();
    let run = store.begin_run("test", 0).unwrap();
    let rules = rules();
    let t = transcript("c1", "这事不归我管，你自己去看。");
    let card = commit(
        &mut store,
        run,
        &rules,
        &t,
        &meta("A1", "2024-05-01T09:30:00+08:00"),
        "in1",
    );
    assert!(
        card.rules.iter().any(|r| !r.findings.is_empty()),
        "the sample must carry findings"
    );
    assert_eq!(store.scorecard("c1").unwrap(), Some(card));
    let row = store.calls().unwrap()[0].row;
    let (back, events_back) = store.transcript(row).unwrap();
    assert_eq!(back, t);
    assert_eq!(events_back, events());
    assert_eq!(store.scorecard("nope").unwrap(), None);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn storing_a_call_again_replaces_it_and_the_index_says_what_it_was_scored_from() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.db");
    let mut store = Store::open(&path).unwrap();
    let run = store.begin_run("test", 0).unwrap();
    let rules = rules();
    let m = meta("A1", "2024-05-01T09:30:00+08:00");
    commit(
        &mut store,
        run,
        &rules,
        &transcript("c1", "好的，我帮您查一下。"),
        &m,
        "in1",
    );
    commit(
        &mut store,
        run,
        &rules,
        &transcript("c1", "好的，我帮您查一下。"),
        &m,
        "in2",
    );
    commit(
        &mut store,
        run,
        &rules,
        &transcript("c2", "好的，我帮您查一下。"),
        &m,
        "in3",
    );
    assert_eq!(count(&store, "calls"), 2);
    assert_eq!(count(&store, "results"), 2 * RuleId::ALL.len() as i64);
    assert_eq!(
        count(&store, "utterances"),
        8,
        "the replaced call's rows went with it"
    );
    let index = store.scored_index().unwrap();
    assert_eq!(
        index["c1"],
        ScoredWith {
            inputs_key: "in2".into(),
            rules_fingerprint: rules.fingerprint().into()
        }
    );
    drop(store);
    let reopened = Store::open_existing(&path).unwrap();
    assert_eq!(reopened.scored_index().unwrap().len(), 2);
}

#[test]
fn replacing_a_scoring_keeps_the_transcript_and_records_the_new_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("z.db")).unwrap();
    let run = store.begin_run("score", 0).unwrap();
    let rules = rules();
    let t = transcript("c1", "这事不归我管。");
    let before = commit(
        &mut store,
        run,
        &rules,
        &t,
        &meta("A1", "2024-05-01T09:30:00+08:00"),
        "in1",
    );
    assert!(before.score < 100);

    // A standard without the banned-phrase rule's weight: the same call scores differently.
    let mut files: std::collections::BTreeMap<String, String> =
        std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read_to_string(e.path()).unwrap(),
                )
            })
            .collect();
    let banned = files.get_mut("banned_phrase.toml").unwrap();
    *banned = banned.replacen("enabled = true", "enabled = false", 1);
    let lenient_dir = dir.path().join("rules");
    std::fs::create_dir_all(&lenient_dir).unwrap();
    for (name, text) in &files {
        std::fs::write(lenient_dir.join(name), text).unwrap();
    }
    let lenient = RuleSet::load(&lenient_dir, analyzer()).unwrap();
    assert_ne!(lenient.fingerprint(), rules.fingerprint());

    let rerun = store.begin_run("rescore", 1).unwrap();
    let call = &store.calls().unwrap()[0];
    let (t_back, events_back) = store.transcript(call.row).unwrap();
    let results = judge_call(&lenient, analyzer(), &t_back, &events_back);
    let after = Scorecard::new(&lenient, &t_back, events_back, results);
    store
        .replace_scoring(rerun, call.row, &after, &lenient)
        .unwrap();

    let stored = store.scorecard("c1").unwrap().unwrap();
    assert_eq!(stored, after);
    assert!(
        stored.score > before.score,
        "{} vs {}",
        stored.score,
        before.score
    );
    assert_eq!(store.transcript(call.row).unwrap().0, t);
    assert_eq!(
        store.calls().unwrap()[0].rules_fingerprint,
        lenient.fingerprint()
    );
    assert_eq!(count(&store, "rule_sets"), 2);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn filters_select_by_day_agent_verdict_and_score_worst_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("z.db")).unwrap();
    let run = store.begin_run("test", 0).unwrap();
    let rules = rules();
    let fine = "好的，我帮您查一下。";
    // 07:30 in Beijing on 1 May is 30 April in UTC: it must count for 1 May.
    commit(
        &mut store,
        run,
        &rules,
        &transcript("may1", fine),
        &meta("A1", "2024-05-01T07:30:00+08:00"),
        "a",
    );
    commit(
        &mut store,
        run,
        &rules,
        &transcript("may2", "这事不归我管。"),
        &meta("A2", "2024-05-02T10:00:00+08:00"),
        "b",
    );
    commit(
        &mut store,
        run,
        &rules,
        &transcript("apr30", fine),
        &meta("A1", "2024-04-30T12:00:00+08:00"),
        "c",
    );
    commit(
        &mut store,
        run,
        &rules,
        &transcript("undated", fine),
        &CallMeta::default(),
        "d",
    );

    let ids = |f: Filter| -> Vec<String> {
        store
            .select(&f)
            .unwrap()
            .into_iter()
            .map(|c| c.call_id)
            .collect()
    };
    let all = ids(Filter::default());
    assert_eq!(all.len(), 4);
    assert_eq!(all[0], "may2", "the worst call first");
    let day = |s: &str| Some(Date::parse(s).unwrap());
    assert_eq!(
        ids(Filter {
            from: day("2024-05-01"),
            ..Filter::default()
        }),
        ["may2", "may1"]
    );
    assert_eq!(
        ids(Filter {
            to: day("2024-04-30"),
            ..Filter::default()
        }),
        ["apr30"]
    );
    let mut a1 = ids(Filter {
        agent: Some("A1".into()),
        ..Filter::default()
    });
    a1.sort();
    assert_eq!(a1, ["apr30", "may1"]);
    assert_eq!(
        ids(Filter {
            rule: Some(RuleId::BannedPhrase),
            verdict: Some(Verdict::Fail),
            ..Filter::default()
        }),
        ["may2"]
    );
    assert_eq!(
        ids(Filter {
            verdict: Some(Verdict::Fail),
            max_score: Some(0),
            ..Filter::default()
        }),
        Vec::<String>::new()
    );
    let worst = store.select(&Filter::default()).unwrap().remove(0);
    assert_eq!(
        ids(Filter {
            max_score: Some(worst.score),
            ..Filter::default()
        }),
        ["may2"]
    );
    assert_eq!(
        ids(Filter {
            min_score: Some(worst.score + 1),
            ..Filter::default()
        })
        .len(),
        3
    );

    let may1 = store
        .select(&Filter {
            agent: Some("A1".into()),
            from: day("2024-05-01"),
            ..Filter::default()
        })
        .unwrap();
    assert_eq!(may1[0].week.as_deref(), Some("2024-W18"));
    assert_eq!(
        may1[0].started_at.unwrap().to_string(),
        "2024-05-01T07:30:00+08:00"
    );
    assert_eq!(may1[0].verdicts.len(), RuleId::ALL.len());
    assert_eq!(
        may1[0].verdicts[0].0,
        RuleId::ALL[0],
        "in the standard's order"
    );
}

#[test]
fn a_missing_store_and_a_newer_one_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.db");
    let err = Store::open_existing(&missing).err().unwrap().to_string();
    assert!(err.contains("zhijian score"), "{err}");
    assert!(!missing.exists(), "reading never creates a store");

    let path = dir.path().join("future.db");
    drop(Store::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::Newer { found: 99, .. })
    ));
}

#[test]
fn the_default_store_follows_zhijian_home_then_xdg() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    };
    assert_eq!(
        default_path_from(&env(&[("ZHIJIAN_HOME", "/zh")])),
        PathBuf::from("/zh/zhijian.db")
    );
    assert_eq!(
        default_path_from(&env(&[("XDG_DATA_HOME", "/x"), ("HOME", "/h")])),
        PathBuf::from("/x/zhijian/zhijian.db")
    );
    assert_eq!(
        default_path_from(&env(&[("HOME", "/h")])),
        PathBuf::from("/h/.local/share/zhijian/zhijian.db")
    );
}
