//! Rate schedule (being written).
