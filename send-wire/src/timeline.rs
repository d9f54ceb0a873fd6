//! SEND's timeline vocabulary: the detail API versions, the timeline element categories and
//! the notification statuses, as the official OpenAPI spells them. [`Known`] reads a value
//! SEND may have added since: kept by name, never an error.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One of SEND's string enums: spelled exactly as the OpenAPI does.
pub trait WireEnum: Sized + Copy + 'static {
    fn as_str(self) -> &'static str;
    fn parse(s: &str) -> Option<Self>;
    /// Every value, in the OpenAPI's order.
    fn all() -> &'static [Self];
}

/// A family of SEND API versions: the enum (ordered, oldest first), every version (`ALL`) and
/// the path segment each one is routed under (`path_segment`).
#[macro_export]
macro_rules! api_versions {
    ($(#[$meta:meta])* $name:ident { $($v:ident => $segment:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($v),+ }

        impl $name {
            pub const ALL: [Self; [$($segment),+].len()] = [$(Self::$v),+];

            /// The version's path segment (`""` for the unversioned first one).
            pub fn path_segment(self) -> &'static str {
                match self { $(Self::$v => $segment),+ }
            }
        }
    };
}

api_versions! {
    /// The versions of the notification-detail API (`/delivery/{v}/notifications/sent/{iun}`),
    /// which also fix the timeline element schema a stream version uses.
    DetailVersion {
        V1 => "", V20 => "/v2.0", V21 => "/v2.1", V23 => "/v2.3", V24 => "/v2.4",
        V25 => "/v2.5", V26 => "/v2.6", V27 => "/v2.7", V28 => "/v2.8", V29 => "/v2.9",
    }
}

macro_rules! categories {
    ($($name:ident => $since:ident),* $(,)?) => {
        /// `TimelineElementCategoryV28`: every category SEND shows to a sending PA.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(non_camel_case_types)]
        pub enum Category { $($name),* }

        impl Category {
            pub const ALL: &'static [Category] = &[$(Category::$name),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Category::$name => stringify!($name)),* }
            }

            /// The first detail version whose category enum lists it.
            pub fn since(self) -> DetailVersion {
                match self { $(Category::$name => DetailVersion::$since),* }
            }

            pub fn parse(s: &str) -> Option<Category> {
                match s { $(stringify!($name) => Some(Category::$name),)* _ => None }
            }
        }
    };
}

categories! {
    SENDER_ACK_CREATION_REQUEST => V1, VALIDATE_NORMALIZE_ADDRESSES_REQUEST => V1, NORMALIZED_ADDRESS => V1,
    REQUEST_ACCEPTED => V1, SEND_COURTESY_MESSAGE => V1, GET_ADDRESS => V1, PUBLIC_REGISTRY_CALL => V1,
    PUBLIC_REGISTRY_RESPONSE => V1, SCHEDULE_ANALOG_WORKFLOW => V1, SCHEDULE_DIGITAL_WORKFLOW => V1,
    PREPARE_DIGITAL_DOMICILE => V1, SEND_DIGITAL_DOMICILE => V1, SEND_DIGITAL_PROGRESS => V1,
    SEND_DIGITAL_FEEDBACK => V1, REFINEMENT => V1, SCHEDULE_REFINEMENT => V1,
    DIGITAL_DELIVERY_CREATION_REQUEST => V1, DIGITAL_SUCCESS_WORKFLOW => V1, DIGITAL_FAILURE_WORKFLOW => V1,
    ANALOG_SUCCESS_WORKFLOW => V1, ANALOG_FAILURE_WORKFLOW => V1, PREPARE_SIMPLE_REGISTERED_LETTER => V1,
    SEND_SIMPLE_REGISTERED_LETTER => V1, SEND_SIMPLE_REGISTERED_LETTER_PROGRESS => V1,
    NOTIFICATION_VIEWED_CREATION_REQUEST => V1, NOTIFICATION_VIEWED => V1, PREPARE_ANALOG_DOMICILE => V1,
    SEND_ANALOG_DOMICILE => V1, SEND_ANALOG_PROGRESS => V1, SEND_ANALOG_FEEDBACK => V1, PAYMENT => V1,
    COMPLETELY_UNREACHABLE => V1, COMPLETELY_UNREACHABLE_CREATION_REQUEST => V1, REQUEST_REFUSED => V1,
    AAR_CREATION_REQUEST => V1, AAR_GENERATION => V1, NOT_HANDLED => V1, PROBABLE_SCHEDULING_ANALOG_DATE => V1,
    NOTIFICATION_CANCELLATION_REQUEST => V20, NOTIFICATION_CANCELLED => V20, PREPARE_ANALOG_DOMICILE_FAILURE => V20,
    NOTIFICATION_RADD_RETRIEVED => V23, ANALOG_WORKFLOW_RECIPIENT_DECEASED => V26,
    PUBLIC_REGISTRY_VALIDATION_CALL => V27, PUBLIC_REGISTRY_VALIDATION_RESPONSE => V27,
    NOTIFICATION_TIMELINE_REWORKED => V28,
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::wire_enum! {
    /// A notification's status (`NotificationStatusV26`).
    Status {
        IN_VALIDATION,
        ACCEPTED,
        REFUSED,
        DELIVERING,
        DELIVERED,
        VIEWED,
        EFFECTIVE_DATE,
        PAID,
        UNREACHABLE,
        CANCELLED,
        RETURNED_TO_SENDER,
    }
}

impl Status {
    /// The name a detail version shows: RETURNED_TO_SENDER exists only from v2.6; older
    /// versions show the closed delivery as DELIVERED (inference: their enum has no better value).
    pub fn shown_in(self, version: DetailVersion) -> &'static str {
        if self == Status::RETURNED_TO_SENDER && version < DetailVersion::V26 {
            "DELIVERED"
        } else {
            self.as_str()
        }
    }
}

impl WireEnum for Category {
    fn as_str(self) -> &'static str {
        Category::as_str(self)
    }
    fn parse(s: &str) -> Option<Self> {
        Category::parse(s)
    }
    fn all() -> &'static [Self] {
        Category::ALL
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value of a SEND enum as read from an answer: one this crate knows, or a name SEND added
/// later (kept as sent, so a reader of UAT does not fail on a new category or status).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Known<T> {
    Is(T),
    Other(String),
}

impl<T: WireEnum + PartialEq> Known<T> {
    pub fn is(&self, v: T) -> bool {
        matches!(self, Known::Is(x) if *x == v)
    }

    pub fn any_of(&self, vs: &[T]) -> bool {
        vs.iter().any(|v| self.is(*v))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Known::Is(v) => v.as_str(),
            Known::Other(s) => s,
        }
    }
}

impl<T: WireEnum> From<&str> for Known<T> {
    fn from(s: &str) -> Self {
        T::parse(s).map_or_else(|| Known::Other(s.to_string()), Known::Is)
    }
}

impl<T: WireEnum> std::fmt::Display for Known<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Known::Is(v) => f.write_str(v.as_str()),
            Known::Other(s) => f.write_str(s),
        }
    }
}

impl<T: WireEnum> Serialize for Known<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Known::Is(v) => s.serialize_str(v.as_str()),
            Known::Other(o) => s.serialize_str(o),
        }
    }
}

impl<'de, T: WireEnum> Deserialize<'de> for Known<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(Known::from(&*s))
    }
}

macro_rules! serde_by_name {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<str>::deserialize(d)?;
                <$t>::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {} `{s}`", stringify!($t)))
                })
            }
        }
    )*};
}

serde_by_name!(Category);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_and_status_reads_back_its_spelling() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(*c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        for s in Status::ALL {
            let back: Status = serde_json::from_value(serde_json::json!(s.as_str())).unwrap();
            assert_eq!(back, s);
        }
        assert!(serde_json::from_str::<Status>("\"delivered\"").is_err());
    }

    #[test]
    fn an_unknown_name_is_kept_not_refused() {
        let k: Known<Category> = serde_json::from_str("\"A_CATEGORY_OF_2027\"").unwrap();
        assert_eq!(k, Known::Other("A_CATEGORY_OF_2027".into()));
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"A_CATEGORY_OF_2027\"");
        let k: Known<Status> = serde_json::from_str("\"VIEWED\"").unwrap();
        assert!(k.is(Status::VIEWED) && !k.is(Status::DELIVERED));
        assert!(k.any_of(&[Status::DELIVERED, Status::VIEWED]));
    }
}
