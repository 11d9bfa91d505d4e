//! Status conditions as the Kubernetes API conventions want them: one per type, and
//! `lastTransitionTime` moves only when the status does (so an unchanged status writes the
//! same object, and a re-applied status is a no-op).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// `True`, `False` or `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    True,
    False,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }
}

/// A condition for `type_`, keeping the previous transition time when `previous` holds the
/// same status for that type.
pub fn condition(
    previous: &[Condition],
    type_: &str,
    status: Status,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status.as_str())
        .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
    Condition {
        type_: type_.into(),
        status: status.as_str().into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time,
    }
}

/// The condition of `type_`, if any.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_moves_only_with_the_status() {
        let t0 = Time("2026-01-01T00:00:00Z".parse().unwrap());
        let t1 = Time("2026-01-02T00:00:00Z".parse().unwrap());
        let first = condition(&[], "Ready", Status::False, "Pending", "", None, &t0);
        let same = condition(std::slice::from_ref(&first), "Ready", Status::False, "Other", "m", None, &t1);
        assert_eq!(same.last_transition_time, t0);
        let flipped = condition(&[same], "Ready", Status::True, "Ready", "", None, &t1);
        assert_eq!(flipped.last_transition_time, t1);
    }
}
