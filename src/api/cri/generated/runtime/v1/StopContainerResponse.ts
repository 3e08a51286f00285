// Original file: src/api/cri/generated/api.proto


export interface StopContainerResponse {
}

export interface StopContainerResponse__Output {
}
