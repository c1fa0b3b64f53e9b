"""Cases of tools/test_sleeps.py: a sleep that waits is counted; one marked as pacing (on
its line or the line above), one in a comment, and the WaitUntil implementation are not."""
import os
import tempfile
import unittest

import test_sleeps


def count(files):
    with tempfile.TemporaryDirectory() as root:
        for rel, text in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return [(rel, line) for rel, line, _ in test_sleeps.unmarked_sleeps(root)]


class TestSleepsTest(unittest.TestCase):
    def test_a_sleep_that_waits_is_counted(self):
        self.assertEqual(count({"tests/a_test.cc": "x;\nstd::this_thread::sleep_for(5ms);\n"}),
                         [(os.path.join("tests", "a_test.cc"), 2)])
        self.assertEqual(len(count({"tests/b/c.h": "usleep(10);\nnanosleep(&t, nullptr);\n"})), 2)

    def test_pacing_and_comments_and_wait_h_are_not(self):
        self.assertEqual(count({
            "tests/a_test.cc": "std::this_thread::sleep_for(5ms);  // pace: distinct times\n"
                               "// pace: a slow provider\nstd::this_thread::sleep_for(d);\n"
                               "// we used to sleep_for(1s) here\n",
            "tests/support/wait.h": "std::this_thread::sleep_for(every);\n",
            "tests/a_test.py": "time.sleep(1)\n",
            "src/x.cc": "std::this_thread::sleep_for(5ms);\n",
        }), [])


if __name__ == "__main__":
    unittest.main()
