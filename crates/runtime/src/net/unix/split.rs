//! Split halves of a [`UnixStream`], borrowed and owned; identical to
//! the TCP ones (see [`tcp::split`](crate::net::tcp::split)).

crate::net::split::stream_split!(UnixStream, ReuniteError);
