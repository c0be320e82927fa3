"""What the installed distribution carries besides the code: the license text (MIT asks that it
travel with every copy), in the wheel's metadata."""

from importlib import metadata


def test_license_file_is_in_the_installed_distribution():
    files = metadata.files("fastbp") or []
    licenses = [f for f in files if f.name == "LICENSE"]
    assert licenses, "no LICENSE in the installed distribution's files"
    assert "MIT License" in licenses[0].read_text()
    assert "MIT" in (metadata.metadata("fastbp").get("License") or "")
