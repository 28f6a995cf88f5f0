//! The user actions of casework: each one validated, then written as one
//! SQLite transaction.

use automerge::ROOT;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Store;
use crate::docs::{self, AccessTier, DocId, MenteeDoc, MentorDoc, RepresentativeDoc, json};
use crate::error::{Error, Result};
use crate::model::*;

/// The outcome of an action that was accepted, with anything a person
/// should look at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// Accepted oddities (an IIN that disagrees with the birth date).
    pub warnings: Vec<Warning>,
}

impl Store {
    /// Registers a child and opens the child's case.
    pub fn register_child(&self, child: &Child) -> Result<Recorded> {
        let warnings = child.validate(self.today())?;
        let id = DocId::case(&child.id);
        self.write(|w| w.create(&id, |tx| json::put(tx, &ROOT, "child", child)))?;
        Ok(Recorded { warnings })
    }

    /// Updates a child's profile; only the fields that changed are written.
    pub fn update_child(&self, child: &Child) -> Result<Recorded> {
        let warnings = child.validate(self.today())?;
        let id = DocId::case(&child.id);
        self.write(|w| {
            let old = w.case_head(&id)?;
            if old.child.iin != child.iin {
                return Err(Error::invalid("child.iin", "an IIN is assigned once for life and never changed"));
            }
            w.edit(&id, |tx| json::put(tx, &ROOT, "child", child))?;
            // The mentors' views of this child follow the profile.
            let mentees: Vec<String> = {
                let mut st = w.tx.prepare_cached("SELECT doc_id FROM q_mentees WHERE child_id = ?1")?;
                st.query_map([child.id.as_str()], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
            };
            let profile = mentee_profile(child);
            for doc in mentees {
                w.edit(&DocId::parse(&doc)?, |tx| json::put(tx, &ROOT, "mentee", &profile))?;
            }
            Ok(())
        })?;
        Ok(Recorded { warnings })
    }

    /// Registers a legal representative and opens their file.
    pub fn register_representative(&self, rep: &Representative) -> Result<Recorded> {
        let warnings = rep.validate(self.today())?;
        let id = DocId::representative(&rep.id);
        self.write(|w| {
            w.create(&id, |tx| {
                json::put(tx, &ROOT, "representative", rep)?;
                json::put(tx, &ROOT, "status", &RepresentativeStatus::Active)
            })
        })?;
        Ok(Recorded { warnings })
    }

    /// Updates a representative's profile (not the status: see
    /// [`Store::set_representative_status`]).
    pub fn update_representative(&self, rep: &Representative) -> Result<Recorded> {
        let warnings = rep.validate(self.today())?;
        let id = DocId::representative(&rep.id);
        self.write(|w| {
            let old: RepresentativeDoc = w.view(&id)?;
            if old.representative.iin != rep.iin {
                return Err(Error::invalid("representative.iin", "an IIN is assigned once for life and never changed"));
            }
            w.edit(&id, |tx| json::put(tx, &ROOT, "representative", rep))
        })?;
        Ok(Recorded { warnings })
    }

    /// Sets whether a representative may act: suspends or reinstates (a
    /// legally significant field: concurrent different settings go to the
    /// review list). Removal from duties is the office's decision, recorded
    /// with its order by [`Store::decide_removal`].
    pub fn set_representative_status(&self, id: &RepresentativeId, status: RepresentativeStatus) -> Result<()> {
        if status == RepresentativeStatus::Removed {
            return Err(Error::Rule(
                "removal from duties is the office's decision: record it with its order's number and date \
                 (decide_removal)"
                    .into(),
            ));
        }
        let doc = DocId::representative(id);
        self.write(|w| w.edit(&doc, |tx| json::put(tx, &ROOT, "status", &status)))
    }

    /// Records a specialist's recommendation to remove a representative
    /// from duties (an event); the file is urgent until the office decides.
    pub fn recommend_removal(&self, rec: &RemovalRecommendation) -> Result<Recorded> {
        rec.validate(self.today())?;
        let id = DocId::representative(&rec.representative_id);
        self.write(|w| {
            let rep: RepresentativeDoc = w.view(&id)?;
            if rep.status == RepresentativeStatus::Removed {
                return Err(Error::Rule("the representative is already removed from duties".into()));
            }
            w.edit(&id, |tx| {
                docs::put_event(tx, "removal_recommendations", &rec.id, rec)?;
                let risk = json::map_at(tx, &ROOT, "risk")?;
                json::put(tx, &risk, "removal_recommended", &true)
            })
        })?;
        Ok(Recorded::default())
    }

    /// Records the office's decision on a removal recommendation, with the
    /// order's number and date (an event). `Removed` sets the
    /// representative's status: every open placement with them becomes an
    /// urgent task until it is ended and the child placed anew. `NotRemoved`
    /// clears the recommendation; it is refused while a risk factor is
    /// raised (a risk factor is ground for removal: clear it with
    /// [`Store::clear_risk`] if it was recorded in error).
    pub fn decide_removal(&self, decision: &RemovalDecision) -> Result<Recorded> {
        decision.validate(self.today())?;
        let id = DocId::representative(&decision.representative_id);
        self.write(|w| {
            let rep: RepresentativeDoc = w.view(&id)?;
            if rep.status == RepresentativeStatus::Removed {
                return Err(Error::Rule("the representative is already removed from duties".into()));
            }
            if !rep.risk.removal_recommended {
                return Err(Error::Rule("no removal recommendation is raised on the representative".into()));
            }
            if decision.outcome == RemovalOutcome::NotRemoved && !rep.risk.raised().is_empty() {
                return Err(Error::Rule(
                    "a raised risk factor is ground for removal: clear it first if it was recorded in error".into(),
                ));
            }
            w.edit(&id, |tx| {
                docs::put_event(tx, "removal_decisions", &decision.id, decision)?;
                match decision.outcome {
                    RemovalOutcome::Removed => json::put(tx, &ROOT, "status", &RepresentativeStatus::Removed),
                    RemovalOutcome::NotRemoved => {
                        let risk = json::map_at(tx, &ROOT, "risk")?;
                        json::put(tx, &risk, "removal_recommended", &false)
                    }
                }
            })
        })?;
        Ok(Recorded::default())
    }

    /// Places a child. Refused when the child already has an active
    /// placement: end it first.
    pub fn place_child(&self, placement: &Placement) -> Result<Recorded> {
        let case_id = DocId::case(&placement.child_id);
        let today = self.today();
        self.write(|w| {
            let case = w.case_head(&case_id)?;
            placement.validate(case.child.birth_date, today)?;
            if placement.is_open() && !case.open_placements().is_empty() {
                return Err(Error::Rule(
                    "the child already has an active placement; end it before placing the child again".into(),
                ));
            }
            if case.placements.contains_key(placement.id.as_str()) {
                return Err(Error::Rule("this placement is already recorded".into()));
            }
            let rep_doc = match &placement.representative_id {
                Some(r) => {
                    let id = DocId::representative(r);
                    let rep: RepresentativeDoc = w.view(&id)?;
                    if placement.is_open() && rep.status != RepresentativeStatus::Active {
                        return Err(Error::Rule("the representative is not active and cannot take a child".into()));
                    }
                    if placement.is_open() && rep.risk.is_urgent() {
                        return Err(Error::Rule(
                            "the representative carries a risk factor or a removal recommendation and cannot take a \
                             child until it is cleared"
                                .into(),
                        ));
                    }
                    Some(id)
                }
                None => None,
            };
            w.edit(&case_id, |tx| {
                let placements = json::map_at(tx, &ROOT, "placements")?;
                json::put(tx, &placements, placement.id.as_str(), placement)?;
                if placement.is_adoption() {
                    json::put(tx, &ROOT, "tier", &AccessTier::Adoption)?;
                }
                Ok(())
            })?;
            if let Some(rep_id) = rep_doc {
                w.edit(&rep_id, |tx| {
                    let relations = json::map_at(tx, &ROOT, "relations")?;
                    json::put(tx, &relations, placement.child_id.as_str(), &placement.kin)
                })?;
            }
            Ok(())
        })?;
        Ok(Recorded::default())
    }

    /// Ends a placement (an event in the child's case, with the reason and
    /// the order where one decided it). Ending it because the
    /// representative was removed needs the office's removal decision
    /// recorded first. A child whose placement ended and who is not yet
    /// placed again (unless the child came of age, was adopted or returned
    /// to the parents) is an urgent item until [`Store::place_child`].
    pub fn end_placement(&self, ending: &PlacementEnding) -> Result<()> {
        ending.validate(self.today())?;
        let case_id = DocId::case(&ending.child_id);
        let today = self.today();
        self.write(|w| {
            let case = w.case_head(&case_id)?;
            let placement = ending.placement_id.as_str();
            let mut p = case
                .placements
                .get(placement)
                .cloned()
                .ok_or_else(|| Error::not_found("placement", placement.to_owned()))?;
            if !p.is_open() {
                return Err(Error::Rule("this placement has already ended".into()));
            }
            if ending.reason == PlacementEndReason::RepresentativeRemoved {
                let removed = match &p.representative_id {
                    Some(r) => w.view::<RepresentativeDoc>(&DocId::representative(r))?.status,
                    None => RepresentativeStatus::Active,
                };
                if removed != RepresentativeStatus::Removed {
                    return Err(Error::Rule(
                        "the representative is not removed from duties: record the office's decision first".into(),
                    ));
                }
            }
            p.end_date = Some(ending.end_date);
            p.end_reason = Some(ending.reason);
            p.validate(case.child.birth_date, today)?;
            w.edit(&case_id, |tx| {
                docs::put_event(tx, "placement_endings", &ending.id, ending)?;
                let obj = docs::object_at(tx, &["placements", placement])?
                    .ok_or_else(|| Error::not_found("placement", placement.to_owned()))?;
                json::put(tx, &obj, "end_date", &p.end_date)?;
                json::put(tx, &obj, "end_reason", &p.end_reason)
            })
        })
    }

    /// Corrects a placement recorded wrongly (its start date, kin relation,
    /// whether kin were considered): an event keeping the facts as they
    /// read before, the reason and who corrected it; the placement reads
    /// the corrected facts. Concurrent corrections of the same fact go to
    /// the review list.
    pub fn correct_placement(&self, correction: &PlacementCorrection) -> Result<Recorded> {
        correction.validate(self.today())?;
        let case_id = DocId::case(&correction.child_id);
        let today = self.today();
        self.write(|w| {
            let case = w.case_head(&case_id)?;
            let placement = correction.placement_id.as_str();
            let mut p = case
                .placements
                .get(placement)
                .cloned()
                .ok_or_else(|| Error::not_found("placement", placement.to_owned()))?;
            let previous = PlacementFacts::of(&p);
            let c = &correction.corrected;
            if *c == previous {
                return Err(Error::Rule("the correction changes nothing in the placement".into()));
            }
            p.start_date = c.start_date;
            p.kin = c.kin;
            p.kin_considered = c.kin_considered;
            p.validate(case.child.birth_date, today).map_err(|e| match e {
                Error::Invalid { field, reason } => {
                    Error::Invalid { field: field.replacen("placement.", "placement_correction.corrected.", 1), reason }
                }
                e => e,
            })?;
            let event = PlacementCorrection { previous: Some(previous.clone()), ..correction.clone() };
            w.edit(&case_id, |tx| {
                docs::put_event(tx, "placement_corrections", &correction.id, &event)?;
                let obj = docs::object_at(tx, &["placements", placement])?
                    .ok_or_else(|| Error::not_found("placement", placement.to_owned()))?;
                if c.start_date != previous.start_date {
                    json::put(tx, &obj, "start_date", &c.start_date)?;
                }
                if c.kin != previous.kin {
                    json::put(tx, &obj, "kin", &c.kin)?;
                }
                if c.kin_considered != previous.kin_considered {
                    json::put(tx, &obj, "kin_considered", &c.kin_considered)?;
                }
                Ok(())
            })?;
            if let (Some(rep), true) = (&p.representative_id, c.kin != previous.kin) {
                w.edit(&DocId::representative(rep), |tx| {
                    let relations = json::map_at(tx, &ROOT, "relations")?;
                    json::put(tx, &relations, p.child_id.as_str(), &c.kin)
                })?;
            }
            Ok(())
        })?;
        Ok(Recorded::default())
    }

    /// Records a home visit (an event, written once).
    pub fn record_visit(&self, visit: &HomeVisit) -> Result<Recorded> {
        let id = DocId::case(&visit.child_id);
        let today = self.today();
        self.write(|w| {
            let case = w.case_head(&id)?;
            visit.validate(case.child.birth_date, today)?;
            check_supersedes(w, &id, "visits", visit.supersedes.as_ref(), "visit.supersedes")?;
            w.edit(&id, |tx| docs::put_event(tx, "visits", &visit.id, visit))
        })?;
        Ok(Recorded::default())
    }

    /// Records an annual check (an event, written once). Any risk factor
    /// raises the flag and a removal-from-duties recommendation on the
    /// representative, and marks the file urgent.
    pub fn record_check(&self, check: &AnnualCheck) -> Result<Recorded> {
        let warnings = check.validate(self.today())?;
        let id = DocId::representative(&check.representative_id);
        self.write(|w| {
            check_supersedes(w, &id, "checks", check.supersedes.as_ref(), "check.supersedes")?;
            w.edit(&id, |tx| {
                docs::put_event(tx, "checks", &check.id, check)?;
                docs::raise_risks(tx, &check.risk_factors)
            })
        })?;
        Ok(Recorded { warnings })
    }

    /// Records a risk factor reported outside a check.
    pub fn report_risk(&self, report: &RiskReport) -> Result<Recorded> {
        report.validate(self.today())?;
        let id = DocId::representative(&report.representative_id);
        self.write(|w| {
            check_supersedes(w, &id, "risk_reports", report.supersedes.as_ref(), "risk_report.supersedes")?;
            w.edit(&id, |tx| {
                docs::put_event(tx, "risk_reports", &report.id, report)?;
                docs::raise_risks(tx, &[report.factor])
            })
        })?;
        Ok(Recorded::default())
    }

    /// Clears a risk flag (or the removal recommendation) recorded in error,
    /// with the reason and who decided: the clearance is kept as an event
    /// beside the checks and reports that raised the flag. Clearing the
    /// last raised factor clears the removal recommendation too.
    pub fn clear_risk(&self, clearance: &RiskClearance) -> Result<Recorded> {
        clearance.validate(self.today())?;
        let id = DocId::representative(&clearance.representative_id);
        self.write(|w| {
            let rep: RepresentativeDoc = w.view(&id)?;
            let raised = rep.risk.raised();
            match clearance.factor {
                Some(f) if !raised.contains(&f) => {
                    return Err(Error::Rule("this risk factor is not raised on the representative".into()));
                }
                None if !rep.risk.removal_recommended => {
                    return Err(Error::Rule("no removal recommendation is raised on the representative".into()));
                }
                _ => {}
            }
            w.edit(&id, |tx| {
                docs::put_event(tx, "risk_clearances", &clearance.id, clearance)?;
                let risk = json::map_at(tx, &ROOT, "risk")?;
                let last = match clearance.factor {
                    Some(f) => {
                        let flags = json::map_at(tx, &risk, "flags")?;
                        json::put(tx, &flags, f.code(), &false)?;
                        raised.len() == 1
                    }
                    None => true,
                };
                if last {
                    json::put(tx, &risk, "removal_recommended", &false)?;
                }
                Ok(())
            })
        })?;
        Ok(Recorded::default())
    }

    /// Registers a mentor, with the mentor's (empty) meeting log.
    pub fn register_mentor(&self, mentor: &Mentor) -> Result<Recorded> {
        mentor.validate()?;
        self.write(|w| {
            w.create(&DocId::mentor(&mentor.id), |tx| json::put(tx, &ROOT, "mentor", mentor))?;
            w.create(&DocId::meeting_log(&mentor.id), |tx| {
                json::put(tx, &ROOT, "mentor_id", &mentor.id)?;
                json::put(tx, &ROOT, "district", &mentor.district)
            })
        })?;
        Ok(Recorded::default())
    }

    /// Adds a certificate to a mentor's profile.
    pub fn add_certificate(&self, mentor: &MentorId, cert: &MentorCertificate) -> Result<()> {
        cert.validate(self.today())?;
        let id = DocId::mentor(mentor);
        self.write(|w| {
            let _: MentorDoc = w.view(&id)?;
            w.edit(&id, |tx| {
                let certs = json::map_at(tx, &ROOT, "certificates")?;
                json::put(tx, &certs, &cert.number, cert)
            })
        })
    }

    /// Starts a mentorship: the mentor's view of the mentee is made from the
    /// child's case, with only what mentoring needs.
    pub fn start_mentorship(&self, m: &Mentorship) -> Result<()> {
        check_text(&m.contract_ref, "mentorship.contract_ref", 100, true)?;
        not_in_future(m.start_date, self.today(), "mentorship.start_date")?;
        self.write(|w| {
            let case = w.case_head(&DocId::case(&m.child_id))?;
            let _: MentorDoc = w.view(&DocId::mentor(&m.mentor_id))?;
            let profile = mentee_profile(&case.child);
            w.create(&DocId::mentee(&m.id), |tx| {
                json::put(tx, &ROOT, "mentorship", m)?;
                json::put(tx, &ROOT, "mentee", &profile)
            })
        })
    }

    /// Ends a mentorship on `end`: the mentor's phone loses the mentee view
    /// at its next sync (the specialists keep it, and the meetings logged
    /// stay in the mentor's log).
    pub fn end_mentorship(&self, mentorship: &MentorshipId, end: NaiveDate) -> Result<()> {
        not_in_future(end, self.today(), "mentorship.end_date")?;
        let id = DocId::mentee(mentorship);
        self.write(|w| {
            let view: MenteeDoc = w.view(&id)?;
            if view.mentorship.end_date.is_some() {
                return Err(Error::Rule("this mentorship has already ended".into()));
            }
            if end < view.mentorship.start_date {
                return Err(Error::invalid("mentorship.end_date", "is before the mentorship started"));
            }
            w.edit(&id, |tx| {
                let ship = json::map_at(tx, &ROOT, "mentorship")?;
                json::put(tx, &ship, "end_date", &end)
            })
        })
    }

    /// Logs a mentor's meeting. Refused when the mentor has no valid
    /// certificate on the meeting date.
    pub fn log_meeting(&self, meeting: &Meeting) -> Result<Recorded> {
        let today = self.today();
        self.write(|w| {
            let mentee: MenteeDoc = w.view(&DocId::mentee(&meeting.mentorship_id))?;
            let mentor_id = mentee.mentorship.mentor_id.clone();
            let mentor: MentorDoc = w.view(&DocId::mentor(&mentor_id))?;
            let certs: Vec<_> = mentor.certificates.values().cloned().collect();
            meeting.validate(&certs, &mentee.mentorship, today)?;
            let log_id = DocId::meeting_log(&mentor_id);
            check_supersedes(w, &log_id, "meetings", meeting.supersedes.as_ref(), "meeting.supersedes")?;
            w.edit(&log_id, |tx| docs::put_event(tx, "meetings", &meeting.id, meeting))
        })?;
        Ok(Recorded::default())
    }

    /// Resolves a conflict from the review list. For a same-field conflict,
    /// `chosen` is one of the competing values. Two open placements are
    /// resolved by ending all but one with [`Store::end_placement`].
    pub fn resolve_conflict(&self, doc_id: &DocId, path: &str, chosen: &serde_json::Value) -> Result<()> {
        self.write(|w| w.edit(doc_id, |tx| docs::conflicts::resolve_field(tx, doc_id, path, chosen)))
    }
}

/// What a mentor may know of a child: only what mentoring needs.
fn mentee_profile(c: &Child) -> MenteeProfile {
    MenteeProfile {
        given_name: c.name.given.clone(),
        family_name: c.name.family.clone(),
        birth_date: c.birth_date,
        school: c.school.clone(),
        district: c.district.clone(),
    }
}

/// A correction must name an event recorded in the same document.
fn check_supersedes(
    w: &mut super::WriteTx<'_>,
    doc: &DocId,
    container: &str,
    supersedes: Option<&EventId>,
    field: &str,
) -> Result<()> {
    let Some(id) = supersedes else { return Ok(()) };
    let d = w.doc(doc)?.ok_or_else(|| Error::not_found(super::kind_name(doc.kind()), doc.to_string()))?;
    if docs::has_event(d, container, id)? { Ok(()) } else { Err(Error::invalid(field, "names no recorded event")) }
}
