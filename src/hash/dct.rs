//! The 2-D DCT-II shared by pHash and PDQ.
//!
//! (Filled in with the hashers.)
