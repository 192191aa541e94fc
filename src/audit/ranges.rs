//! Range set (being written).
