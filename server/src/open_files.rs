//! The open-files limit. Every delivery in flight to a different endpoint
//! holds a socket, and idle keep-alive connections, the database pool and
//! the listener hold more; a soft limit of 1024 (a common default for
//! services) would make a busy node fail attempts with "too many open
//! files". The soft limit is raised to the hard one at start, which needs
//! no privilege.

/// Descriptors a node needs besides one per delivery in flight: the
/// database pool, the listener, portal connections, idle keep-alives.
pub const HEADROOM: u64 = 512;

/// Raises the soft limit, warning when even the hard one leaves too little
/// room for `max_in_flight` deliveries.
pub fn raise_for(max_in_flight: usize) {
    match raise_limit() {
        Ok(limit) if !enough_for(limit, max_in_flight) => tracing::warn!(
            limit,
            max_in_flight,
            "the open-files limit leaves little room for deliveries in flight; raise it (ulimit -n, LimitNOFILE=) or lower --max-in-flight"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not raise the open-files limit"),
    }
}

/// The soft and hard open-files limits.
#[cfg(unix)]
// `rlim_t` is u64 on Linux but not on every Unix.
#[allow(clippy::unnecessary_cast)]
fn limits() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the call to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((limit.rlim_cur as u64, limit.rlim_max as u64))
}

/// Raises the soft open-files limit to the hard limit; answers the limit
/// now in force.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)]
pub fn raise_limit() -> std::io::Result<u64> {
    let (soft, hard) = limits()?;
    if soft < hard {
        let raised = libc::rlimit {
            rlim_cur: hard as libc::rlim_t,
            rlim_max: hard as libc::rlim_t,
        };
        // SAFETY: `raised` is a valid rlimit; raising the soft limit up to
        // the hard one is allowed for any process.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(hard)
}

#[cfg(not(unix))]
pub fn raise_limit() -> std::io::Result<u64> {
    Ok(u64::MAX)
}

/// Whether `limit` open files leave room for `max_in_flight` deliveries.
pub fn enough_for(limit: u64, max_in_flight: usize) -> bool {
    limit >= max_in_flight as u64 + HEADROOM
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let in_force = raise_limit().expect("raising the open-files limit");
        let (soft, hard) = limits().expect("reading the open-files limit");
        assert_eq!(soft, hard);
        assert_eq!(in_force, soft);
    }

    #[test]
    fn the_default_in_flight_limit_needs_more_than_a_1024_soft_limit() {
        assert!(!enough_for(1024, 1024));
        assert!(enough_for(1024, 512));
        assert!(enough_for(4096, 1024));
    }
}
