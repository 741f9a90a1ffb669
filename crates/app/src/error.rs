//! The crate's one error type, with what kind of failure each is
//! ([`Kind`]) and what to send instead ([`Error::hint`]). A front door
//! maps the kind to its own terms: the API to a status code, the CLI to a
//! message and an exit code.

/// Everything a use case can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A ward that is neither configured nor in the data.
    #[error("unknown ward {ward:?}")]
    UnknownWard {
        /// The ward asked for.
        ward: String,
        /// The wards there are.
        known: Vec<String>,
    },
    /// A department that is not configured (`[departments.<id>]`).
    #[error("unknown department {department:?}")]
    UnknownDepartment {
        /// The department asked for.
        department: String,
        /// The departments there are.
        known: Vec<String>,
    },
    /// A hospital that is not configured (`[hospitals.<id>]`).
    #[error("unknown hospital {hospital:?}")]
    UnknownHospital {
        /// The hospital asked for.
        hospital: String,
        /// The hospitals there are.
        known: Vec<String>,
    },
    /// A patient not on any ward in the hour shown.
    #[error("no patient with this key in the hour shown")]
    UnknownPatient,
    /// No patient in this bed of the ward in the hour shown.
    #[error("no patient in bed {bed:?} of ward {ward:?} in the hour shown")]
    EmptyBed {
        /// The ward.
        ward: String,
        /// The bed asked for, as sent.
        bed: String,
    },
    /// Nothing written yet.
    #[error("no hour has been written yet")]
    NoData,
    /// A FHIR resource careload does not serve (issue 29).
    #[error("no {resource} with id {id:?}")]
    UnknownResource {
        /// Its type.
        resource: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A parameter out of range or malformed.
    #[error("{param} is not valid")]
    BadQuery {
        /// The parameter.
        param: &'static str,
        /// What to send instead.
        hint: String,
    },
    /// `from` not before `to`.
    #[error("from must be before to")]
    EmptyRange,
    /// A range longer than `api.max_range_days`.
    #[error("the range is {days} days long, more than the maximum")]
    RangeTooLarge {
        /// Days asked for (rounded up).
        days: i64,
        /// The maximum.
        max: u32,
    },
    /// Well-formed input whose content cannot be accepted (planned
    /// staffing rows or CSV with bad rows); nothing of it was stored.
    #[error("the request's content was refused")]
    Unprocessable {
        /// Every problem, and what to send instead.
        hint: String,
    },
    /// A setting that cannot be used (key and problem).
    #[error("configuration: {0}")]
    Config(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] careload_store::Error),
    /// Anything else internal (a task that ended early, an export that failed).
    #[error("internal: {0}")]
    Internal(String),
}

/// What kind of failure an [`Error`] is, for a front door to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Something asked for that is not there (a ward, a patient, any data).
    NotFound,
    /// A parameter that cannot be read or is out of range.
    Invalid,
    /// Readable input whose content is refused.
    Refused,
    /// A failure of the service, not of the request: its detail is for the log only.
    Internal,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> Kind {
        match self {
            Error::UnknownWard { .. }
            | Error::UnknownDepartment { .. }
            | Error::UnknownHospital { .. }
            | Error::UnknownPatient
            | Error::EmptyBed { .. }
            | Error::NoData
            | Error::UnknownResource { .. } => Kind::NotFound,
            Error::BadQuery { .. } | Error::EmptyRange | Error::RangeTooLarge { .. } => Kind::Invalid,
            Error::Unprocessable { .. } => Kind::Refused,
            Error::Config(_) | Error::Store(_) | Error::Internal(_) => Kind::Internal,
        }
    }

    /// What to send instead (none for internal failures).
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::UnknownWard { known, .. } => Some(if known.is_empty() {
                "no wards are configured or in the data yet".into()
            } else {
                format!("known wards: {}", known.join(", "))
            }),
            Error::UnknownDepartment { known, .. } => Some(if known.is_empty() {
                "no departments are configured; declare them as [departments.<id>] and name each ward's in \
                 [wards.<id>] department"
                    .into()
            } else {
                format!("known departments: {}", known.join(", "))
            }),
            Error::UnknownHospital { known, .. } => Some(if known.is_empty() {
                "no hospitals are configured; declare them as [hospitals.<id>] and name each department's in \
                 [departments.<id>] hospital"
                    .into()
            } else {
                format!("known hospitals: {}", known.join(", "))
            }),
            Error::UnknownPatient => Some(
                "patients are keyed by pseudonym; list a ward's patients with GET /api/v1/wards/{id} and use a key \
                 from there"
                    .into(),
            ),
            Error::EmptyBed { ward, .. } => Some(format!(
                "the ward's beds are listed in GET /api/v1/wards/{ward}; send a bed as the ward screen shows it or its \
                 full id"
            )),
            Error::NoData => Some("wait for the first ingest run, or start one (careload ingest)".into()),
            Error::UnknownResource { resource, .. } => Some(format!(
                "search for it (GET /fhir/r4/{resource}?date=ge…) and read it by the id the search gives; ids name \
                 an hour careload stores"
            )),
            Error::BadQuery { hint, .. } | Error::Unprocessable { hint } => Some(hint.clone()),
            Error::EmptyRange => Some("send a from that is earlier than to".into()),
            Error::RangeTooLarge { max, .. } => Some(format!(
                "ask for at most {max} days (api.max_range_days) per request, in several requests if need be"
            )),
            Error::Config(_) | Error::Store(_) | Error::Internal(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_failures_carry_no_hint_and_requests_do() {
        for e in [Error::Config("x".into()), Error::Internal("y".into())] {
            assert_eq!(e.kind(), Kind::Internal);
            assert_eq!(e.hint(), None);
        }
        let e = Error::UnknownWard {
            ward: "w9".into(),
            known: vec!["w1".into(), "w2".into()],
        };
        assert_eq!(e.kind(), Kind::NotFound);
        assert_eq!(e.hint().as_deref(), Some("known wards: w1, w2"));
        assert_eq!(Error::EmptyRange.kind(), Kind::Invalid);
        assert_eq!(Error::Unprocessable { hint: "h".into() }.kind(), Kind::Refused);
    }
}
