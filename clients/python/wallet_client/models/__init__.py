"""Contains all the data models used in inputs/outputs"""

from .amount_input import AmountInput
from .amount_input_metadata import AmountInputMetadata
from .approval_envelope import ApprovalEnvelope
from .approval_kind_enum import ApprovalKindEnum
from .approval_output import ApprovalOutput
from .approval_output_metadata import ApprovalOutputMetadata
from .approval_output_request import ApprovalOutputRequest
from .approval_output_result import ApprovalOutputResult
from .approval_page import ApprovalPage
from .approval_status_enum import ApprovalStatusEnum
from .approvals_list_kind import ApprovalsListKind
from .approvals_list_status import ApprovalsListStatus
from .approve_input import ApproveInput
from .batch_envelope import BatchEnvelope
from .batch_input import BatchInput
from .batch_item_output import BatchItemOutput
from .batch_item_output_error_type_0 import BatchItemOutputErrorType0
from .batch_item_output_status_enum import BatchItemOutputStatusEnum
from .batch_output import BatchOutput
from .capture_envelope import CaptureEnvelope
from .capture_input import CaptureInput
from .capture_input_metadata import CaptureInputMetadata
from .capture_output import CaptureOutput
from .completed_status_enum import CompletedStatusEnum
from .currency_enum import CurrencyEnum
from .error import Error
from .error_details import ErrorDetails
from .event_type_enum import EventTypeEnum
from .history_event_output import HistoryEventOutput
from .history_event_output_metadata_type_0 import HistoryEventOutputMetadataType0
from .history_event_page import HistoryEventPage
from .hold_envelope import HoldEnvelope
from .hold_input import HoldInput
from .hold_input_metadata import HoldInputMetadata
from .hold_output import HoldOutput
from .hold_output_metadata import HoldOutputMetadata
from .hold_page import HoldPage
from .hold_status_enum import HoldStatusEnum
from .ledger_transaction_envelope import LedgerTransactionEnvelope
from .ledger_transaction_output import LedgerTransactionOutput
from .ledger_transaction_output_kind_enum import LedgerTransactionOutputKindEnum
from .ledger_transaction_output_metadata import LedgerTransactionOutputMetadata
from .leg_input import LegInput
from .leg_input_metadata import LegInputMetadata
from .leg_output import LegOutput
from .leg_output_metadata import LegOutputMetadata
from .multi_leg_input import MultiLegInput
from .multi_leg_input_metadata import MultiLegInputMetadata
from .reject_input import RejectInput
from .reverse_input import ReverseInput
from .transaction_output import TransactionOutput
from .transaction_output_metadata import TransactionOutputMetadata
from .transaction_page import TransactionPage
from .transfer_envelope import TransferEnvelope
from .transfer_input import TransferInput
from .transfer_input_metadata import TransferInputMetadata
from .type_enum import TypeEnum
from .user_activity_list_event_type_item import UserActivityListEventTypeItem
from .wallet_create_input import WalletCreateInput
from .wallet_envelope import WalletEnvelope
from .wallet_history_list_event_type_item import WalletHistoryListEventTypeItem
from .wallet_holds_list_status import WalletHoldsListStatus
from .wallet_output import WalletOutput
from .wallet_page import WalletPage
from .wallet_status_enum import WalletStatusEnum

__all__ = (
    "AmountInput",
    "AmountInputMetadata",
    "ApprovalEnvelope",
    "ApprovalKindEnum",
    "ApprovalOutput",
    "ApprovalOutputMetadata",
    "ApprovalOutputRequest",
    "ApprovalOutputResult",
    "ApprovalPage",
    "ApprovalsListKind",
    "ApprovalsListStatus",
    "ApprovalStatusEnum",
    "ApproveInput",
    "BatchEnvelope",
    "BatchInput",
    "BatchItemOutput",
    "BatchItemOutputErrorType0",
    "BatchItemOutputStatusEnum",
    "BatchOutput",
    "CaptureEnvelope",
    "CaptureInput",
    "CaptureInputMetadata",
    "CaptureOutput",
    "CompletedStatusEnum",
    "CurrencyEnum",
    "Error",
    "ErrorDetails",
    "EventTypeEnum",
    "HistoryEventOutput",
    "HistoryEventOutputMetadataType0",
    "HistoryEventPage",
    "HoldEnvelope",
    "HoldInput",
    "HoldInputMetadata",
    "HoldOutput",
    "HoldOutputMetadata",
    "HoldPage",
    "HoldStatusEnum",
    "LedgerTransactionEnvelope",
    "LedgerTransactionOutput",
    "LedgerTransactionOutputKindEnum",
    "LedgerTransactionOutputMetadata",
    "LegInput",
    "LegInputMetadata",
    "LegOutput",
    "LegOutputMetadata",
    "MultiLegInput",
    "MultiLegInputMetadata",
    "RejectInput",
    "ReverseInput",
    "TransactionOutput",
    "TransactionOutputMetadata",
    "TransactionPage",
    "TransferEnvelope",
    "TransferInput",
    "TransferInputMetadata",
    "TypeEnum",
    "UserActivityListEventTypeItem",
    "WalletCreateInput",
    "WalletEnvelope",
    "WalletHistoryListEventTypeItem",
    "WalletHoldsListStatus",
    "WalletOutput",
    "WalletPage",
    "WalletStatusEnum",
)
