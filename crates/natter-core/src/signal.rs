//! Messages between clients and the signaling server (being written).
