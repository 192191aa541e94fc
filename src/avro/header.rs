//! kbench header fields added to the scenario schema (being written).
