//! Graceful shutdown shared by threads and async tasks.
