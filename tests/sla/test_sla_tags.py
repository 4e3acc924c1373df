"""The page helpers: options of a select rendered in one call, escaped."""

from sla.templatetags.sla_tags import options


def test_options_mark_the_selected_one_and_leave_out_the_excluded():
    html = options([("call", "Call"), ("email", "E-mail"), ("meeting", "Meeting")], "email", "call")
    assert html == (
        '<option value="email" selected>E-mail</option><option value="meeting">Meeting</option>'
    )


def test_options_escape_what_people_typed():
    html = options([("x", "<b>Bad & co</b>")], None)
    assert html == '<option value="x">&lt;b&gt;Bad &amp; co&lt;/b&gt;</option>'
