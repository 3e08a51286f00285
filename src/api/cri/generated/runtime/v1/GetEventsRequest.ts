// Original file: src/api/cri/generated/api.proto


export interface GetEventsRequest {
}

export interface GetEventsRequest__Output {
}
