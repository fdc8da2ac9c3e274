"""End to end on a real Debian 12 cloud guest: real cloud-init consumes our
seed, real sshd lets the user in, the project disk survives re-creation."""

import journey


def test_the_whole_journey():
    uid = journey.prepare_user()
    with journey.stack_for_journey() as stack:
        j = journey.Journey(stack, uid, "journey")
        try:
            seen = j.run()
        finally:
            j.print_timings()
    assert seen["boot_finished"] == "yes"
    assert seen["cloud_init_status"] == "status: done"
    assert seen["hostname"] == "project-journey"
    assert seen["user"] == "dev"
    assert seen["mount"].endswith("/home/dev/project")
    assert seen["written"] == seen["token"]
    assert seen["stop"] == "journey stopped: graceful"
    assert seen["read_back"] == seen["token"]
