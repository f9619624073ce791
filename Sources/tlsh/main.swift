// tlsh entry point: argument parsing and dispatch only.
print("tlsh")
