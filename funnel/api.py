"""REST endpoints for funnel stages: everyone reads them, the admin role configures them."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from accounts.access import AdminWritesOthersRead
from core.errors import RuleRefused
from funnel.models import Stage
from funnel.selectors import stage_list
from funnel.services import StageInUse, stage_create, stage_delete, stage_update


class StageInput(serializers.Serializer):
    # Slug format and uniqueness are the model's rules; the service's full_clean checks them.
    slug = serializers.CharField(max_length=50)
    name = serializers.CharField(max_length=100)
    position = serializers.IntegerField(min_value=0, max_value=2_147_483_647)
    entry_definition = serializers.CharField(allow_blank=True, required=False, default="")
    exit_definition = serializers.CharField(allow_blank=True, required=False, default="")
    kind = serializers.ChoiceField(choices=Stage.Kind.choices, default=Stage.Kind.OPEN)
    is_active = serializers.BooleanField(default=True)
    reopenable = serializers.BooleanField(
        default=False, help_text="A lead further on may move back to this stage."
    )


class StageOutput(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = [
            "id",
            "slug",
            "name",
            "position",
            "entry_definition",
            "exit_definition",
            "kind",
            "is_active",
            "reopenable",
        ]


class StageViewSet(viewsets.ModelViewSet):
    """The funnel's stages in order. Deleting a stage that was ever used answers 409:
    deactivate it instead (`is_active: false`), so the history that names it stays whole.
    """

    serializer_class = StageOutput
    permission_classes = [AdminWritesOthersRead]
    filterset_fields = ["is_active", "kind"]

    def get_queryset(self):
        return stage_list()

    @extend_schema(request=StageInput, responses={201: StageOutput})
    def create(self, request, *args, **kwargs):
        serializer = StageInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        stage = stage_create(**serializer.validated_data)
        return Response(StageOutput(stage).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=StageInput, responses={200: StageOutput})
    def update(self, request, *args, **kwargs):
        stage = self.get_object()
        serializer = StageInput(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        stage = stage_update(stage=stage, **serializer.validated_data)
        return Response(StageOutput(stage).data)

    @extend_schema(request=StageInput, responses={200: StageOutput})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="The stage is in use.")})
    def destroy(self, request, *args, **kwargs):
        try:
            stage_delete(stage=self.get_object())
        except StageInUse as exc:
            raise RuleRefused(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
