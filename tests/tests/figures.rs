//! The region's figures, computed by the server from what phones synced,
//! and current as soon as a phone's change is stored.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use qamqor_core::model::*;
use qamqor_server::figures::{self, Figures};
use qamqor_server::model::Role;
use qamqor_tests::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn figures_on(server: &TestServer, on: NaiveDate) -> Figures {
    figures::compute(&server.service, on, chrono::Utc::now().timestamp()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_follow_what_phones_sync() {
    let server = TestServer::start().await;
    server.user("aigerim", Role::Specialist, &[DISTRICT]);
    qamqor_server::admin::set_adoption_access(&server.service, "aigerim", true).unwrap();
    let a = server.phone("aigerim").await;
    let mut s = sample(40);
    let on = today();

    // A grandmother's guardianship (kin), checked this year.
    let (c1, r1, p1) = register_family(&a.store, &mut s, d("2023-01-10"));
    a.store.record_check(&s.check(&r1.id, d("2026-11-02"), None)).unwrap();
    a.store.record_visit(&s.visit(&c1, d("2026-10-01"))).unwrap();
    // A foster family, never checked since 2023: overdue.
    let c2 = s.child();
    let r2 = Representative { role: RepresentativeRole::FosterParent, ..s.representative(d("2023-03-01")) };
    a.store.register_child(&c2).unwrap();
    a.store.register_representative(&r2).unwrap();
    let foster = Placement {
        form: PlacementForm::FosterFamily,
        kin: None,
        ..s.placement(&c2, &r2, c2.birth_date.max(d("2023-03-01")))
    };
    a.store.place_child(&foster).unwrap();
    // An adoption: counted, never listed.
    let c3 = s.child();
    let r3 = Representative { role: RepresentativeRole::AdoptiveParent, ..s.representative(d("2024-05-01")) };
    a.store.register_child(&c3).unwrap();
    a.store.register_representative(&r3).unwrap();
    let adoption = Placement {
        form: PlacementForm::Adoption,
        kin: None,
        ..s.placement(&c3, &r3, c3.birth_date.max(d("2024-05-01")))
    };
    a.store.place_child(&adoption).unwrap();

    // Nothing synced yet: the server counts nothing.
    assert_eq!(figures_on(&server, on).region.children_placed, 0);
    a.sync().await.unwrap();

    let f = figures_on(&server, on);
    let r = &f.region;
    assert_eq!(r.children_placed, 3);
    assert_eq!(r.in_families, 3);
    assert_eq!(r.family_share(), 100.0);
    assert_eq!(r.by_form.get("adoption"), Some(&1));
    assert_eq!(r.by_form.get("foster_family"), Some(&1));
    assert_eq!(r.kinship, u64::from(p1.kin.is_some()));
    assert_eq!(r.representatives, 3);
    assert_eq!(r.checks_done, 1);
    assert_eq!(r.checks_overdue, 2, "{r:?}");
    assert_eq!((r.visits_6m, r.children_visited_6m), (1, 1));
    assert_eq!(r.open_risk_cases, 0);
    assert_eq!(f.districts[DISTRICT], f.region, "one district: the same counts");
    let load = f.specialists.iter().find(|l| l.user_id == "aigerim").unwrap();
    assert_eq!((load.children, load.representatives, load.checks_overdue), (3, 3, 2));
    assert_eq!(f.devices.active, 1);
    assert_eq!(f.devices.synced_7d, 1);
    // Figures hold no personal data: no id, name or IIN of anyone.
    let text = serde_json::to_string(&f).unwrap();
    for secret in [c1.id.as_str(), r1.iin.as_str(), c3.iin.as_str(), &c2.name.family, &r3.name.given] {
        assert!(!text.contains(secret), "figures mention {secret}");
    }

    // A check with a risk factor, synced: the figure changes at once.
    a.store.record_check(&s.check(&r2.id, on, Some(RiskFactor::NarcologicalRegistration))).unwrap();
    a.sync().await.unwrap();
    let f = figures_on(&server, on);
    assert_eq!(f.region.open_risk_cases, 1);
    assert_eq!(f.region.removal_recommendations, 1);
    assert_eq!((f.region.checks_done, f.region.checks_overdue), (2, 1));

    // The office removes; the placement ends; the child awaits a new one.
    a.store.decide_removal(&s.decision(&r2.id, on, RemovalOutcome::Removed)).unwrap();
    a.store.end_placement(&s.ending(&foster, on, PlacementEndReason::RepresentativeRemoved)).unwrap();
    a.sync().await.unwrap();
    let f = figures_on(&server, on);
    assert_eq!(f.region.removals_12m, 1);
    assert_eq!(f.region.removal_recommendations, 0, "decided");
    assert_eq!(f.region.open_risk_cases, 0, "removed: no longer an open case");
    assert_eq!(f.region.children_placed, 2);
    assert_eq!(f.region.awaiting_placement, 1);

    // As of an earlier date, the figures of that date.
    let before = figures_on(&server, d("2024-01-01"));
    assert_eq!(before.region.by_form.get("adoption"), None, "not yet adopted then");
    assert_eq!(before.region.removals_12m, 0);
}
