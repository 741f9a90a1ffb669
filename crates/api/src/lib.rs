//! careload's HTTP API (`/api/v1`, JSON) and server-rendered ward screens.

pub mod view;
