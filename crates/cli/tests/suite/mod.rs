mod cli;
mod config;
mod doctor;
mod init;
mod skill;
