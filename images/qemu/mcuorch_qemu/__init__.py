"""Code of the `qemu` image: runs bare-metal ELFs on QEMU boards and counts instructions.

Standard library only: the image has Debian's python3 and nothing else.
"""
