pub mod form;
pub mod gate;
pub mod layout;
