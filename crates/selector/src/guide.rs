//! A guide to the three backends: select, poll and epoll, and when each is
//! right. (See [`Backend`](crate::Backend) for the summary table.)
