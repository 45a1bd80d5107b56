//! Small serde helpers shared by the resource types.
//!
//! Kubernetes treats an explicit `null` in a manifest like an absent field
//! (the API server prunes it), and YAML writes one for a key with nothing after
//! it (`syncOptions:` with every entry commented out). [`nullable`] gives such
//! fields their default instead of failing on `null`.

use serde::{Deserialize, Deserializer};

/// Deserializes `null` as the type's default value.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// For `skip_serializing_if`: leaves `false` booleans out, as Go's `omitempty` does.
pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}

/// For `skip_serializing_if`: leaves zero integers out, as Go's `omitempty` does.
pub(crate) fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// For `skip_serializing_if`: leaves a value equal to its default out.
pub(crate) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
