"""Pages of the funnel: the stages in order, with what it takes to enter and leave each."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from funnel.selectors import stage_list


@login_required
def stage_list_page(request):
    return render(request, "funnel/stage_list.html", {"stages": stage_list()})
