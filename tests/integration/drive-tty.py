#!/usr/bin/env python3
# Runs a command (berthctl run -it ...) on a pseudo-terminal as a user's
# terminal would, types into it, resizes it, and prints what it showed:
#   drive-tty.py COMMAND...
# Types "stty size; tty; echo MARK$((6*7))", then resizes to 40x120 and
# types "stty size", then "exit 7". Prints the screen output and
# "EXIT <status>" of the command.
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

argv = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
out = b""


def read_until(pattern, timeout=20):
    global out
    end = time.time() + timeout
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        out += data
        if pattern in out:
            return True
    return False


read_until(b"# ")
os.write(fd, b"stty size; tty; echo MARK$((6*7))\r")
read_until(b"MARK42")
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
os.kill(pid, 28)  # SIGWINCH, as the terminal emulator's kernel sends it
time.sleep(0.3)
os.write(fd, b"stty size\r")
read_until(b"40 120")
os.write(fd, b"exit 7\r")
read_until(b"\0", 5)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
print("\nEXIT", os.waitstatus_to_exitcode(status))
