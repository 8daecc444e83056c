"""The userbot process: command line, configuration, logging, the chat front ends."""
