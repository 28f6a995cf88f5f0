//! Prints every code list as Markdown, for the appendix of
//! `docs/documents.md`: `cargo run -p qamqor-tests --bin code-lists`.

use qamqor_core::model::*;

fn list<T: CodeList>() {
    let codes: Vec<String> = T::all().iter().map(|c| format!("`{}`", c.code())).collect();
    println!("| {} | {} |", T::LIST_NAME, codes.join(", "));
}

fn main() {
    println!("| list | codes |\n| --- | --- |");
    list::<Region>();
    list::<PlacementForm>();
    list::<ChildStatus>();
    list::<Sex>();
    list::<RepresentativeRole>();
    list::<RepresentativeStatus>();
    list::<KinRelation>();
    list::<PlacementEndReason>();
    list::<RiskFactor>();
    list::<CheckOutcome>();
    list::<CheckConclusion>();
    list::<IncomeSourceKind>();
    list::<HousingRight>();
    list::<HousingType>();
    list::<VisitGround>();
    list::<MeetingMode>();
    list::<RemovalOutcome>();
    list::<HouseholdRelation>();
}
